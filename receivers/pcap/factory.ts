import * as path from 'node:path';
import type { ReceiverFactory } from '../../core/component';
import { PcapReceiver } from './receiver';

export interface PcapConfig {
  path: string;
  perspective: 'server' | 'client' | 'both';
  batch_size: number;
  max_connections: number;
  max_out_of_order_bytes: number;
}

/** pcap/pcapng files (tcpdump, Wireshark) as `records`, through TCP reassembly. */
export const pcapFactory: ReceiverFactory<PcapConfig> = {
  kind: 'receiver',
  type: 'pcap',
  schema: {
    path: { doc: 'a pcap or pcapng file, or a glob (wildcards in the file name) read in name order as one capture; relative to the config file', format: String, default: '' },
    perspective: { doc: 'which end of each connection the records are seen from: server, client, or both (two records per segment)', format: ['server', 'client', 'both'], default: 'server' },
    batch_size: { doc: 'records per batch', format: 'nat', default: 1024 },
    max_connections: { doc: 'TCP connections reassembled at once; beyond it the oldest is dropped', format: 'nat', default: 65536 },
    max_out_of_order_bytes: { doc: 'bytes held per direction waiting for missing ones before they are reported as a gap', format: 'nat', default: 1048576 },
  },
  validate(c) {
    const problems = [];
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
