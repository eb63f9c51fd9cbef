/**
 * Link layer → IP → TCP, as a pure function of a captured frame: Ethernet
 * (with VLAN tags), Linux cooked v1/v2, BSD loopback, raw IP; IPv4 and IPv6
 * (extension headers skipped); TCP segments with their payload.
 */
import { ipv4Text, ipv6Text } from '../../core/records/network-data';

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  RAW_ALT: 12,
  LINUX_SLL: 113,
  LOOP: 108,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface TcpSegment {
  isV6: boolean;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  syn: boolean;
  ackFlag: boolean;
  fin: boolean;
  rst: boolean;
  /** captured payload bytes (a view) */
  payload: Uint8Array;
  /** payload bytes on the wire (more than `payload` when the capture was cut by the snap length) */
  payloadLength: number;
}

/** Why a frame gave no TCP segment, for counting. */
export type NotTcp = 'link' | 'not_ip' | 'not_tcp' | 'fragment' | 'short';

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Offset of the IP header and the ethertype that names it, or a reason. */
function linkPayload(linkType: number, d: Uint8Array): { at: number; etherType: number } | NotTcp {
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (d.length < 14) return 'short';
      let at = 12;
      let et = u16(d, at);
      while ((et === 0x8100 || et === 0x88a8) && at + 6 <= d.length) {
        at += 4;
        et = u16(d, at);
      }
      return { at: at + 2, etherType: et };
    }
    case LinkType.LINUX_SLL:
      if (d.length < 16) return 'short';
      return { at: 16, etherType: u16(d, 14) };
    case LinkType.LINUX_SLL2:
      if (d.length < 20) return 'short';
      return { at: 20, etherType: u16(d, 0) };
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (d.length < 4) return 'short';
      const v = d[0] === 0 ? d[3] : d[0]; // host byte order: family in the low byte
      return { at: 4, etherType: v === 2 ? 0x0800 : 0x86dd };
    }
    case LinkType.RAW:
    case LinkType.RAW_ALT:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (d.length < 1) return 'short';
      return { at: 0, etherType: d[0] >> 4 === 6 ? 0x86dd : 0x0800 };
    default:
      return 'link';
  }
}

const IPV6_EXTENSIONS = new Set([0, 43, 60, 135, 139, 140]);

/** Decodes a captured frame into a TCP segment, or says why it is not one. */
export function decodeFrame(linkType: number, d: Uint8Array, origLen: number): TcpSegment | NotTcp {
  const l = linkPayload(linkType, d);
  if (typeof l === 'string') return l;
  let at = l.at;
  const captureCut = origLen - d.length; // bytes the snap length cut off the end
  let isV6: boolean;
  let src: string;
  let dst: string;
  let proto: number;
  let ipEnd: number; // end of the IP packet as it was on the wire, in frame offsets
  if (l.etherType === 0x0800) {
    if (d.length < at + 20 || d[at] >> 4 !== 4) return 'short';
    const ihl = (d[at] & 0x0f) * 4;
    const total = u16(d, at + 2);
    const frag = u16(d, at + 6);
    if (frag & 0x1fff || frag & 0x2000) return 'fragment';
    proto = d[at + 9];
    src = ipv4Text(d, at + 12);
    dst = ipv4Text(d, at + 16);
    isV6 = false;
    // total 0 happens with TSO on the capturing host: take the frame's length
    ipEnd = total === 0 ? d.length + captureCut : at + total;
    at += ihl;
  } else if (l.etherType === 0x86dd) {
    if (d.length < at + 40 || d[at] >> 4 !== 6) return 'short';
    const payloadLen = u16(d, at + 4);
    proto = d[at + 6];
    src = ipv6Text(d, at + 8);
    dst = ipv6Text(d, at + 24);
    isV6 = true;
    ipEnd = payloadLen === 0 ? d.length + captureCut : at + 40 + payloadLen;
    at += 40;
    while (IPV6_EXTENSIONS.has(proto)) {
      if (proto === 44) return 'fragment';
      if (d.length < at + 8) return 'short';
      proto = d[at];
      at += (d[at + 1] + 1) * 8;
    }
    if (proto === 44) return 'fragment';
  } else {
    return 'not_ip';
  }
  if (proto !== 6) return 'not_tcp';
  if (d.length < at + 20) return 'short';
  const dataOff = (d[at + 12] >> 4) * 4;
  const flags = d[at + 13];
  const payloadStart = at + dataOff;
  const capturedEnd = Math.min(d.length, ipEnd);
  return {
    isV6,
    src,
    dst,
    sport: u16(d, at),
    dport: u16(d, at + 2),
    seq: u32(d, at + 4),
    ack: u32(d, at + 8),
    syn: (flags & 0x02) !== 0,
    ackFlag: (flags & 0x10) !== 0,
    fin: (flags & 0x01) !== 0,
    rst: (flags & 0x04) !== 0,
    payload: payloadStart < capturedEnd ? d.subarray(payloadStart, capturedEnd) : new Uint8Array(0),
    payloadLength: Math.max(0, ipEnd - payloadStart),
  };
}
