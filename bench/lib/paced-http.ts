/**
 * An open-loop-ish HTTP load at a fixed rate (wrk has no rate option and wrk2
 * is not packaged): keep-alive connections, one request in flight on each, a
 * request started every 1/rate s on an idle connection. When every connection
 * is busy the schedule waits; `behind` says how far it fell behind.
 */
import * as net from 'node:net';

export interface PacedResult {
  sent: number;
  answered: number;
  seconds: number;
  /** requests the schedule wanted but no idle connection could take at the end */
  behind: number;
}

const STATUS_LINE = 'HTTP/1.1 ';

export async function pacedHttp(port: number, urlPath: string, opts: { rate: number; seconds: number; connections: number }): Promise<PacedResult> {
  const request = Buffer.from(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const idle: net.Socket[] = [];
  let sent = 0;
  let answered = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: opts.connections },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.setNoDelay(true);
          s.once('error', reject);
          // The status line starts each response; its tail is kept so one split across reads is still seen.
          let carry = '';
          s.on('data', (d: Buffer) => {
            const text = carry + d.toString('latin1');
            for (let i = text.indexOf(STATUS_LINE); i >= 0; i = text.indexOf(STATUS_LINE, i + 1)) {
              answered++;
              idle.push(s);
            }
            carry = text.slice(-(STATUS_LINE.length - 1));
          });
        }),
    ),
  );
  idle.push(...sockets);
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  let due = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = Math.min(performance.now(), end);
      due = Math.floor(((now - t0) / 1000) * opts.rate);
      while (sent < due && idle.length) {
        idle.pop()!.write(request);
        sent++;
      }
      if (now >= end) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  const seconds = (performance.now() - t0) / 1000;
  // let the last requests be answered
  const deadline = performance.now() + 2000;
  while (answered < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const s of sockets) s.destroy();
  return { sent, answered, seconds, behind: due - sent };
}
