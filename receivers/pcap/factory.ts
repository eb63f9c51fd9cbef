import * as path from 'node:path';
import type { ReceiverFactory } from '../../core/component';
import { setting, type ConfigOf, type ConfigProblem } from '../../core/config/schema';
import { PcapReceiver } from './receiver';

export const schema = {
  path: setting.string('', 'a pcap or pcapng file, or a glob (wildcards in the file name) read in name order as one capture; relative to the config file'),
  perspective: setting.oneOf(['server', 'client', 'both'], 'server', 'which end of each connection the records are seen from: server, client, or both (two records per segment)'),
  batch_size: setting.nat(1024, 'records per batch'),
  max_connections: setting.nat(65536, 'TCP connections reassembled at once; beyond it the oldest is dropped'),
  max_out_of_order_bytes: setting.nat(1048576, 'bytes held per direction waiting for missing ones before they are reported as a gap'),
};

export type PcapConfig = ConfigOf<typeof schema>;

/** pcap/pcapng files (tcpdump, Wireshark) as `records`, through TCP reassembly. */
export const pcapFactory: ReceiverFactory<PcapConfig, 'records'> = {
  kind: 'receiver',
  type: 'pcap',
  schema,
  validate(c) {
    const problems: ConfigProblem[] = [];
    if (!c.path) problems.push({ path: 'path', message: 'required: the pcap file or glob to read' });
    if (c.batch_size < 1) problems.push({ path: 'batch_size', message: 'must be at least 1' });
    if (c.max_connections < 1) problems.push({ path: 'max_connections', message: 'must be at least 1' });
    return problems;
  },
  produces: () => 'records',
  create: (c, ctx) =>
    new PcapReceiver(
      {
        path: path.resolve(ctx.configDir, c.path),
        batchSize: c.batch_size,
        perspective: c.perspective,
        maxConnections: c.max_connections,
        maxOutOfOrderBytes: c.max_out_of_order_bytes,
      },
      ctx,
    ),
};
