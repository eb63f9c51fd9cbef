/** Hand-made L7Message items for the span-stage unit tests. */
import type { HostInfo, L7Message } from '../../core/signals';

export const HOST: HostInfo = { hostId: 'host-a', hostName: 'node-a', bootTimeUnixNano: 1_700_000_000_000_000_000n };

let seq = 1000;

/** A message with sensible defaults; times in ns. */
export function message(over: Partial<L7Message> & Pick<L7Message, 'role' | 'tid' | 'reqStart'>): L7Message {
  const reqStart = over.reqStart;
  const base: L7Message = {
    protocol: 'http',
    role: over.role,
    pid: 100,
    tid: over.tid,
    comm: 'python3',
    connId: `conn-${seq}`,
    saddr: '127.0.0.1',
    sport: over.role === 'server' ? 8080 : 40000 + (seq % 1000),
    daddr: '127.0.0.1',
    dport: over.role === 'server' ? 50000 + (seq % 1000) : 6379,
    netns: 4026531840,
    connMeta: 0,
    host: HOST,
    reqStart,
    reqEnd: reqStart + 10,
    respStart: reqStart + 100,
    respEnd: reqStart + 110,
    reqSeq: seq++,
    respSeq: seq++,
    respTid: undefined,
    utid: 0,
    respUtid: 0,
    reqTick: 0,
    respTick: 0,
    outcome: 'ok',
    http: undefined,
    redis: undefined,
    mysql: undefined,
    grpc: undefined,
    postgresql: undefined,
    threadTraceId: undefined,
    propagation: undefined,
  };
  return { ...base, ...over };
}

/** A server request on `tid` answered at `respStart`. */
export function serverRequest(tid: number, reqStart: number, respStart: number, over: Partial<L7Message> = {}): L7Message {
  return message({ role: 'server', tid, reqStart, reqEnd: reqStart + 5, respStart, respEnd: respStart + 5, ...over });
}

/** A client call from `tid` during [reqStart, respEnd]. */
export function clientCall(tid: number, reqStart: number, respEnd: number, over: Partial<L7Message> = {}): L7Message {
  return message({ role: 'client', tid, reqStart, reqEnd: reqStart + 2, respStart: respEnd - 2, respEnd, protocol: 'redis', ...over });
}
