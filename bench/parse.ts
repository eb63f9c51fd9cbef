/**
 * Parse throughput on one core: records from the committed tcpdump captures
 * (test/l7/testdata), replayed as probe records (4096-byte captures) and
 * replicated over many connections, through the parse engine in batches of
 * 512; messages/s per protocol (wall clock, and per CPU-second of this
 * process, which is the per-core figure on a shared machine), median of 5 rounds. Plus a keep-alive HTTP
 * load shaped like wrk against nginx (one request and one response per read).
 *
 *   node --import tsx bench/parse.ts [messages-per-case] [only-cases-containing]
 */
import { projectRoot } from '../core/project-root';
import * as path from 'node:path';
import type { NetworkRecord } from '../core/signals';
import { ParseEngine } from '../processors/parse/processor';
import { Conversation, defaultSettings } from '../test/helpers/parse';
import { readCaptureFiles } from '../receivers/pcap/receiver';
import { be, fe, startupAnswer } from '../test/postgresql/messages';
import { sampleExchange } from '../test/http2/conversation';

const target = Number(process.argv[2] ?? 200000);
/** optional: only cases whose name contains this */
const only = process.argv[3];
const DATA = path.join(projectRoot(), 'test/l7/testdata');

async function recordsOf(file: string): Promise<NetworkRecord[]> {
  const out: NetworkRecord[] = [];
  await readCaptureFiles([path.join(DATA, file)], { path: file, batchSize: 1024, perspective: 'server', maxConnections: 1024, maxOutOfOrderBytes: 1 << 20 }, (b) => {
    for (const r of b) out.push({ ...r, payload: r.payload.subarray(0, 4096), actSize: Math.min(r.actSize, 4096) });
  });
  return out;
}

/**
 * Copies of `records` on fresh connection ids until about `messages`
 * messages, interleaved as a busy host would be. The records of a
 * connection share one flat id string, as the receivers give them (the
 * record decoder's cache, the pcap receiver's table): a string joined per
 * record would make every id look-up hash and compare a rope of its own.
 */
function replicate(records: NetworkRecord[], perCopy: number, messages: number): NetworkRecord[] {
  const copies = Math.max(1, Math.ceil(messages / perCopy));
  const out: NetworkRecord[] = [];
  const lanes = 64;
  for (let start = 0; start < copies; start += lanes) {
    const n = Math.min(lanes, copies - start);
    const ids = new Map<string, string>();
    for (const r of records) {
      for (let k = 0; k < n; k++) {
        const copy = start + k;
        const key = `${r.connId}/${copy}`;
        let connId = ids.get(key);
        if (connId === undefined) ids.set(key, (connId = flat(r.connId.slice(0, 24) + copy.toString(16).padStart(8, '0'))));
        out.push({ ...r, connId });
      }
    }
  }
  return out;
}

/** `s` as one flat string (a join of two is a rope until something flattens it). */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function wrkLike(requests: number): NetworkRecord[] {
  const req = 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk/4.1\r\nAccept: */*\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n';
  const resp = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 02:00:00 GMT\r\nContent-Type: text/html\r\nContent-Length: 19\r\nLast-Modified: Sun, 22 Nov 2026 01:00:00 GMT\r\nConnection: keep-alive\r\nETag: "1-13"\r\nAccept-Ranges: bytes\r\n\r\n<html>hello</html>\n';
  const conns = Array.from({ length: 32 }, (_, i) => new Conversation(i.toString(16).padStart(32, '0'), 'server'));
  const out: NetworkRecord[] = [];
  for (let i = 0; i < requests; i++) {
    const c = conns[i % conns.length];
    out.push(c.read(req), c.write(resp));
  }
  return out;
}

/**
 * PostgreSQL as psql and pgbench -M prepared speak it, built to the protocol
 * (server side, one request and one response per read): per connection a
 * startup, a prepared statement, then simple queries returning three rows
 * alternating with Bind/Execute/Sync of the prepared statement.
 */
function postgresqlLike(messages: number): NetworkRecord[] {
  const conns = Array.from({ length: 32 }, (_, i) => new Conversation((0x5000 + i).toString(16).padStart(32, '0'), 'server'));
  const out: NetworkRecord[] = [];
  for (const c of conns) {
    out.push(c.read(fe.startup({ user: 'bench', database: 'shop', application_name: 'pgbench' })), c.write(startupAnswer()));
    out.push(c.read(Buffer.concat([fe.parse('P0_1', 'SELECT abalance FROM pgbench_accounts WHERE aid = $1;'), fe.sync()])), c.write(Buffer.concat([be.parseComplete(), be.ready()])));
  }
  const query = fe.query("SELECT id, name, email FROM users WHERE name LIKE 'a%' ORDER BY id LIMIT 3");
  const rows = Buffer.concat([be.rowDescription('id', 'name', 'email'), be.dataRow('1', 'ada', 'ada@example.com'), be.dataRow('2', 'alan', 'alan@example.com'), be.dataRow('3', 'anna', 'anna@example.com'), be.commandComplete('SELECT 3'), be.ready()]);
  const execute = Buffer.concat([fe.bind('', 'P0_1', ['12345']), fe.describe('P', ''), fe.execute(), fe.sync()]);
  const executed = Buffer.concat([be.bindComplete(), be.rowDescription('abalance'), be.dataRow('0'), be.commandComplete('SELECT 1'), be.ready()]);
  for (let i = 0; i < messages; i++) {
    const c = conns[i % conns.length];
    if (i % 2 === 0) out.push(c.read(query), c.write(rows));
    else out.push(c.read(execute), c.write(executed));
  }
  return out;
}

/**
 * HTTP/2 as Node's and nginx's h2c encoders write it (server side): per
 * connection the prefaces, then rounds of four interleaved GET streams (later
 * requests refer to the dynamic table, traceparent Huffman-coded), one read of
 * requests and one write of responses per round.
 */
function http2Like(messages: number): NetworkRecord[] {
  const conns = Array.from({ length: 32 }, (_, i) => new Conversation((0x2000 + i).toString(16).padStart(32, '0'), 'server'));
  const { rounds } = sampleExchange(Math.ceil(messages / conns.length), 4);
  const out: NetworkRecord[] = [];
  for (const [requests, responses] of rounds) for (const c of conns) out.push(c.read(requests), c.write(responses));
  return out;
}

/** Wall time and this process's CPU time: on a shared machine the CPU figure is the per-core one. */
function measure(records: NetworkRecord[]): { messages: number; seconds: number; cpuSeconds: number } {
  const e = new ParseEngine(defaultSettings({ maxConnections: 1 << 20, protocols: ['http', 'redis', 'mysql', 'postgresql', 'http2'] }));
  let messages = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += 512) messages += e.add(records.slice(i, i + 512), 0).length;
  messages += e.flush().length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { messages, seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  // Cases are built one at a time and dropped after: a heap holding all of them would measure the GC.
  const cases: Array<[string, () => Promise<NetworkRecord[]>]> = [];
  for (const [name, file] of [
    ['http (Node server capture, ~2 requests/conn)', 'http-node.pcap'],
    ['http (nginx + curl capture, ~2 requests/conn)', 'http-nginx.pcap'],
    ['redis (redis-cli, python, Node)', 'redis.pcap'],
    ['mysql (mariadb, pymysql, Node)', 'mysql.pcap'],
  ] as const) {
    cases.push([
      name,
      async () => {
        const recs = await recordsOf(file);
        return replicate(recs, measure(recs).messages, target);
      },
    ]);
  }
  cases.push(['http (wrk-like keep-alive, 32 connections)', async () => wrkLike(target)]);
  cases.push(['http2 (h2c, 4 streams at once, 32 connections)', async () => http2Like(target)]);
  cases.push(['postgresql (psql/pgbench-like, 32 connections)', async () => postgresqlLike(target)]);
  console.log(`parse engine, one core, batches of 512 records, median of 5 rounds (${target} messages per case)`);
  for (const [name, build] of cases) {
    if (only && !name.includes(only)) continue;
    const recs = await build();
    measure(recs); // warm-up
    const rates: number[] = [];
    const cpuRates: number[] = [];
    let msgs = 0;
    for (let i = 0; i < 5; i++) {
      const r = measure(recs);
      msgs = r.messages;
      rates.push(r.messages / r.seconds);
      cpuRates.push(r.messages / r.cpuSeconds);
    }
    const mps = median(rates);
    const cpu = median(cpuRates);
    console.log(
      `  ${name.padEnd(48)} ${(mps / 1000).toFixed(0).padStart(5)}k messages/s wall, ${(cpu / 1000).toFixed(0).padStart(5)}k per CPU-second  (${msgs} messages, ${((recs.length / msgs) * (mps / 1000)).toFixed(0)}k records/s wall)`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
