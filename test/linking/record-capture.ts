/**
 * Records the capture the linker benchmark replays: the two-namespace
 * topology of the multi-host test, one eBPF capture of both namespaces into
 * an espan capture file, and the SDK client's own spans as OTLP/JSON beside it.
 *
 *   node --import tsx test/linking/record-capture.ts bench/testdata/linking-two-hosts [requests]
 *
 * writes <base>.espcap and <base>.sdk.json. Needs root and eBPF.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../core/config/load';
import { Service } from '../../core/service';
import { memoryLogger } from '../../core/telemetry/logger';
import { defaultRegistry } from '../../registry';
import { ebpfUnavailable } from '../ebpf/harness';
import { sleep, topologyUnavailable, TwoHosts } from './topology';

async function main(): Promise<void> {
  const base = path.resolve(process.argv[2] ?? 'linking-two-hosts');
  const requests = Number(process.argv[3] ?? 20);
  const why = topologyUnavailable() ?? ebpfUnavailable();
  if (why) throw new Error(`cannot record: ${why}`);
  const hosts = new TwoHosts();
  try {
    hosts.create();
    const config = `receivers:
  ebpf:
    trace_all_processes: true
    netns: [${hosts.inodeA}, ${hosts.inodeB}]
    ports: [8000, 8080, 9000]
    poll_interval: 5ms
exporters:
  record: {path: ${JSON.stringify(`${base}.espcap`)}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [ebpf], exporters: [record]}}
`;
    const agent = new Service(parseConfig(config, 'record.yaml', defaultRegistry(), {}), { logger: memoryLogger() });
    await agent.start();
    await hosts.startServices();
    await sleep(2500); // a process scan, so the services are selected
    fs.writeFileSync(`${base}.sdk.json`, await hosts.runSdkClient(requests));
    await sleep(500);
    const report = await agent.shutdown();
    const records = await agent.metrics.total('espan_receiver_accepted_items_total');
    console.log(`${base}.espcap: ${records} records, ${fs.statSync(`${base}.espcap`).size} bytes; lost ${report.lost}`);
  } finally {
    await hosts.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
