/**
 * Packet captures cut in the middle: the committed HTTP captures (test/l7)
 * with their first packets removed, as a capture started while traffic was
 * under way. The pcap receiver sees no handshake, so the side comes from the
 * bytes; every message must be one of the whole capture's, paired the same.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { L7Message } from '../../core/signals';
import { parseRecords, recordsFromPcap } from '../l7/helpers';

const DATA = path.join(__dirname, '..', 'l7', 'testdata');
const PCAP_HEADER = 24;
const PACKET_HEADER = 16;

/** The packets of a classic little-endian pcap file, each with its record header. */
function packets(file: Buffer): Buffer[] {
  expect(file.readUInt32LE(0)).to.equal(0xa1b2c3d4);
  const out: Buffer[] = [];
  for (let at = PCAP_HEADER; at < file.length; ) {
    const length = PACKET_HEADER + file.readUInt32LE(at + 8);
    out.push(file.subarray(at, at + length));
    at += length;
  }
  return out;
}

const line = (m: L7Message): string => `${m.reqSeq} ${m.http!.method} ${m.http!.target} ${m.outcome === 'no_response' ? '-' : `${m.http!.status} ${m.respSeq}`}`;

describe('pcap captures cut in the middle', () => {
  // on loopback a message is mostly one segment: only some cuts of http-node.pcap fall inside one
  for (const [name, cutsInside] of [
    ['http-node.pcap', true],
    ['http-nginx.pcap', false],
  ] as const) {
    it(`${name} from every packet on: only the whole capture's messages, paired alike, sides from the bytes`, async () => {
      const file = fs.readFileSync(path.join(DATA, name));
      const all = packets(file);
      const whole = parseRecords(await recordsFromPcap(path.join(DATA, name))).messages;
      const truth = new Map(whole.map((m) => [m.reqSeq, m]));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-pcap-cut-'));
      let insideMessages = 0;
      let emitted = 0;
      try {
        for (let from = 1; from < all.length; from++) {
          const cut = path.join(dir, `from-${from}.pcap`);
          fs.writeFileSync(cut, Buffer.concat([file.subarray(0, PCAP_HEADER), ...all.slice(from)]));
          const { messages, tallies } = parseRecords(await recordsFromPcap(cut));
          for (const m of messages) {
            const w = truth.get(m.reqSeq);
            expect(w, `from packet ${from}: ${line(m)} is no message of the whole capture`).to.not.equal(undefined);
            // a request whose response the cut capture could not pair for sure is no_response; never another response
            if (m.outcome === 'no_response') expect(line(m)).to.equal(line({ ...w!, outcome: 'no_response' }));
            else expect(line(m), `from packet ${from}`).to.equal(line(w!));
            // without the handshake the receiver infers the server end from evidence (receivers/pcap/README.md, "Which end is the server") and may pick the other one; the role follows the bytes
            const sameEnd = m.sport === w!.sport;
            expect(m.role, `from packet ${from}: ${line(m)} seen from port ${m.sport}`).to.equal(sameEnd ? w!.role : w!.role === 'server' ? 'client' : 'server');
          }
          emitted += messages.length;
          insideMessages += tallies.failures['http:midstream_skipped'] ?? 0;
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      console.log(`      ${all.length - 1} cuts: ${emitted} messages, ${insideMessages} records skipped inside messages`);
      if (cutsInside) expect(insideMessages).to.be.greaterThan(0);
      expect(emitted).to.be.greaterThan(all.length);
    });
  }
});
