import { expect } from 'chai';
import fc from 'fast-check';
import { extract, parseTraceParent, parseTraceState } from './w3c';

// Examples from the W3C Trace Context Recommendation (§3.2, §3.3) and its test suite.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('w3c extract', () => {
  it('reads the spec example, sampled', () => {
    const ctx = extract({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    expect(ctx).to.deep.equal({ format: 'w3c', traceId: TRACE_ID, parentSpanId: PARENT_ID, traceFlags: 1, sampled: true });
  });

  it('reads not-sampled flags and ignores unknown flag bits', () => {
    expect(extract({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` })?.sampled).to.equal(false);
    const ctx = extract({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-09` });
    expect(ctx?.sampled).to.equal(true);
    expect(ctx?.traceFlags).to.equal(9);
  });

  it('matches header names case-insensitively', () => {
    expect(extract({ TraceParent: `00-${TRACE_ID}-${PARENT_ID}-01` })?.traceId).to.equal(TRACE_ID);
  });

  it('accepts surrounding whitespace (HTTP OWS)', () => {
    expect(extract({ traceparent: ` 00-${TRACE_ID}-${PARENT_ID}-01\t` })?.traceId).to.equal(TRACE_ID);
  });

  const invalid: Record<string, string> = {
    'upper-case hex': `00-${TRACE_ID.toUpperCase()}-${PARENT_ID.toUpperCase()}-01`,
    'upper-case flags': `00-${TRACE_ID}-${PARENT_ID}-0A`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${PARENT_ID}-01`,
    'all-zero parent id': `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${TRACE_ID}-${PARENT_ID}-01`,
    'non-hex version': `0x-${TRACE_ID}-${PARENT_ID}-01`,
    'version 00 with extra field': `00-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`,
    'version 00 one char too long': `00-${TRACE_ID}-${PARENT_ID}-011`,
    'short trace id': `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`,
    'long parent id': `00-${TRACE_ID}-${PARENT_ID}0-01`,
    'non-hex flags': `00-${TRACE_ID}-${PARENT_ID}-0g`,
    'one-digit flags': `00-${TRACE_ID}-${PARENT_ID}-1`,
    'wrong separator': `00_${TRACE_ID}_${PARENT_ID}_01`,
    'future version without separator after flags': `cc-${TRACE_ID}-${PARENT_ID}-01.what`,
    'inner whitespace': `00-${TRACE_ID}- ${PARENT_ID}-01`,
    empty: '',
  };
  for (const [what, value] of Object.entries(invalid)) {
    it(`ignores ${what}`, () => {
      expect(extract({ traceparent: value })).to.equal(undefined);
    });
  }

  it('reads what the grammar as regular expressions reads, character by character', () => {
    // the grammar as regular expressions, the way this extractor read it before
    const reference = (value: string) => {
      const v = value.trim();
      const version = v.slice(0, 2);
      if (!/^[0-9a-f]{2}$/.test(version) || version === 'ff') return undefined;
      const m = version === '00' ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(v) : /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(v);
      if (!m || m[1] === '0'.repeat(32) || m[2] === '0'.repeat(16)) return undefined;
      const traceFlags = parseInt(m[3], 16);
      return { traceId: m[1], parentSpanId: m[2], traceFlags, sampled: (traceFlags & 1) === 1 };
    };
    const alphabet = '0123456789abcdefABCDEFgx-_ \t\nff00é';
    let seed = 7;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const bases = [`00-${TRACE_ID}-${PARENT_ID}-01`, `cc-${TRACE_ID}-${PARENT_ID}-01-more`, `00-${'0'.repeat(31)}1-${'0'.repeat(15)}1-ff`, `ff-${TRACE_ID}-${PARENT_ID}-00`];
    for (let i = 0; i < 20_000; i++) {
      const chars = [...bases[random(bases.length)]];
      for (let k = random(3); k >= 0; k--) {
        const at = random(chars.length + 1);
        const what = random(3);
        if (what === 0) chars[at] = alphabet[random(alphabet.length)];
        else if (what === 1) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[random(alphabet.length)]);
      }
      const value = chars.join('');
      expect(parseTraceParent(value), value).to.deep.equal(reference(value));
    }
  });

  it('accepts a future version and reads its first four fields', () => {
    const ctx = parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`);
    expect(ctx?.traceId).to.equal(TRACE_ID);
    expect(ctx?.parentSpanId).to.equal(PARENT_ID);
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01`)?.sampled).to.equal(true);
  });

  it('returns undefined without a traceparent, even with a tracestate', () => {
    expect(extract({ tracestate: 'rojo=00f067aa0ba902b7' })).to.equal(undefined);
  });
});

describe('w3c tracestate', () => {
  it('keeps the spec examples', () => {
    expect(parseTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).to.equal('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTraceState('fw529a3039@dt=FW529a3039@dt')).to.equal('fw529a3039@dt=FW529a3039@dt');
  });

  it('drops empty members and whitespace around members', () => {
    expect(parseTraceState('rojo=1, ,congo=2 ,')).to.equal('rojo=1,congo=2');
  });

  it('rejects invalid lists', () => {
    expect(parseTraceState('Rojo=1')).to.equal(undefined); // upper-case key
    expect(parseTraceState('rojo=1,rojo=2')).to.equal(undefined); // duplicate key
    expect(parseTraceState('rojo=a=b')).to.equal(undefined); // '=' in value
    expect(parseTraceState('rojo=')).to.equal(undefined); // empty value
    expect(parseTraceState('rojo=trailing ')).to.equal('rojo=trailing'); // OWS around the member is not part of it
    expect(parseTraceState('1abc=x')).to.equal(undefined); // simple key starts with a letter
    expect(parseTraceState(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','))).to.equal(undefined);
    expect(parseTraceState(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(','))).to.be.a('string');
  });

  it('decides every list as the grammar does member by member (split, trimmed, regular expressions)', () => {
    // the grammar as regular expressions, as parseTraceState read every list before it checked normal ones in place
    const key = '(?:[a-z][_0-9a-z\\-*/]{0,255}|[a-z0-9][_0-9a-z\\-*/]{0,240}@[a-z][_0-9a-z\\-*/]{0,13})';
    const member = new RegExp(`^(${key})=([\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e])$`);
    const byGrammar = (value: string): string | undefined => {
      const members: string[] = [];
      const keys = new Set<string>();
      for (const raw of value.split(',')) {
        const m = raw.trim();
        if (m === '') continue;
        const match = member.exec(m);
        if (!match || keys.has(match[1])) return undefined;
        keys.add(match[1]);
        members.push(m);
      }
      return members.length && members.length <= 32 ? members.join(',') : undefined;
    };
    const text = (chars: string, max: number) => fc.string({ unit: fc.constantFrom(...chars.split('')), maxLength: max });
    const keyPart = fc.oneof(
      text('abz09_-*/', 6),
      text('ab1@_', 6),
      fc.constantFrom('a'.repeat(256), 'a'.repeat(257), `${'t'.repeat(241)}@s`, `${'t'.repeat(242)}@s`, `t@${'s'.repeat(14)}`, `t@${'s'.repeat(15)}`, '1abc', 'Rojo', 'a@1', '@a', 'a@', 'rojo', 'congo'),
    );
    const valuePart = fc.oneof(text('az09 !~=@\t\u00a0,', 6), fc.constantFrom('v', 'x'.repeat(256), 'x'.repeat(257), ' lead', 'in side', 'trail ', '', '\u00e9'));
    const around = fc.constantFrom('', '', '', ' ', '\t', '\u00a0', ' \ufeff');
    const aMember = fc.oneof(
      fc.tuple(around, keyPart, fc.constantFrom('=', '=', '==', ''), valuePart, around).map((p) => p.join('')),
      fc.constantFrom('', ' ', 'k=v', 'rojo=1'),
    );
    const list = fc.oneof(
      fc.array(aMember, { maxLength: 6 }).map((ms) => ms.join(',')),
      fc.integer({ min: 30, max: 34 }).map((n) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',')),
      text('ab=@, \t', 24),
    );
    // the bounds, each side of them
    const edges = [
      `${'a'.repeat(256)}=v`, `${'a'.repeat(257)}=v`, `${'t'.repeat(241)}@s=v`, `${'t'.repeat(242)}@s=v`, `t@${'s'.repeat(14)}=v`, `t@${'s'.repeat(15)}=v`,
      '1abc@x=v', '1abc=v', `k=${'x'.repeat(256)}`, `k=${'x'.repeat(257)}`, 'k= v', 'k=v ', 'k=a=b', '=v', 'k=', 'a@=v', '@a=v', 'a@1=v', 'a@b@c=v',
    ];
    for (const value of edges) for (const around of [value, `x=1,${value}`, `${value},x=1`]) expect(parseTraceState(around), around).to.equal(byGrammar(around));
    fc.assert(
      fc.property(list, (value) => {
        expect(parseTraceState(value)).to.equal(byGrammar(value));
      }),
      { numRuns: 20000 },
    );
  });

  it('keeps the traceparent when the tracestate is invalid', () => {
    const ctx = extract({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'BAD KEY=1' });
    expect(ctx?.traceId).to.equal(TRACE_ID);
    expect(ctx?.traceState).to.equal(undefined);
    expect(extract({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'rojo=00f067aa0ba902b7' })?.traceState).to.equal('rojo=00f067aa0ba902b7');
  });
});
