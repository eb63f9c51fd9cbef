/**
 * Runs captures through the pcap receiver's reader and the parse engine, and
 * turns messages into compact lines that tests compare exactly.
 */
import type { L7Message, NetworkRecord } from '../../core/signals';
import { ParseEngine, type ParseSettings } from '../../processors/parse/processor';
import { defaultSettings, parseTally } from '../helpers/parse';
import { readCaptureFiles, type PcapSettings } from '../../receivers/pcap/receiver';

export interface Tallies {
  failures: Record<string, number>;
  undetected: number;
}

export async function recordsFromPcap(file: string, over: Partial<PcapSettings> = {}): Promise<NetworkRecord[]> {
  const all: NetworkRecord[] = [];
  await readCaptureFiles([file], { path: file, batchSize: 256, perspective: 'server', maxConnections: 1024, maxOutOfOrderBytes: 1 << 20, ...over }, (b) => {
    all.push(...b);
  });
  return all;
}

export function parseRecords(records: NetworkRecord[], settings: Partial<ParseSettings> = {}, batch = 64): { messages: L7Message[]; tallies: Tallies } {
  const tally = parseTally();
  const engine = new ParseEngine(defaultSettings(settings), tally.counters);
  const messages: L7Message[] = [];
  for (let i = 0; i < records.length; i += batch) messages.push(...engine.add(records.slice(i, i + batch), 0));
  messages.push(...engine.flush());
  return { messages, tallies: { failures: tally.failures, undetected: tally.undetected } };
}

/** One line per message: what a reader checks first. */
export function describe(m: L7Message): string {
  const outcome = m.outcome === 'ok' ? '' : ` [${m.outcome}]`;
  if (m.http) {
    const h = m.http;
    const hdrs = Object.keys(h.headers).length ? ' ' + JSON.stringify(h.headers) : '';
    return `${m.role} http ${h.method} ${h.target} -> ${h.status ?? '-'}${outcome}${hdrs}`;
  }
  if (m.redis) {
    const r = m.redis;
    const err = r.errorPrefix ? ` ${r.errorPrefix}: ${r.errorMessage}` : '';
    const args = r.args ? ' ' + JSON.stringify(r.args) : '';
    return `${m.role} redis db${r.db} ${r.command}${args}${err}${outcome}`;
  }
  const q = m.mysql!;
  const parts = [`${m.role} mysql ${q.command}`];
  if (q.database) parts.push(`db=${q.database}`);
  if (q.sql !== undefined) parts.push(JSON.stringify(q.sql));
  if (q.summary) parts.push(`summary=${JSON.stringify(q.summary)}`);
  if (q.statementId !== undefined) parts.push(`stmt=${q.statementId}`);
  if (q.rows !== undefined) parts.push(`rows=${q.rows}`);
  if (q.affectedRows !== undefined) parts.push(`affected=${q.affectedRows}`);
  if (q.errorCode !== undefined) parts.push(`err=${q.errorCode}/${q.sqlState}: ${q.errorMessage}`);
  return parts.join(' ') + outcome;
}
