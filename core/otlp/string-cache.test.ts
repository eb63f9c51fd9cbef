import { expect } from 'chai';
import { StringCache } from './string-cache';

/** Reads `text` through the cache as the reader does: held, or decoded and kept. */
function read(cache: StringCache, text: string): { held: boolean; s: string } {
  const b = Buffer.from(text, 'utf8');
  const found = cache.find(b, 0, b.length);
  if (found !== undefined) return { held: true, s: found };
  const s = b.toString('utf8');
  cache.keep(s);
  return { held: false, s };
}

describe('core/otlp StringCache', () => {
  it('gives back a value read before, and only for the same bytes', () => {
    const cache = new StringCache();
    expect(read(cache, '127.0.0.1')).to.deep.equal({ held: false, s: '127.0.0.1' });
    expect(read(cache, '127.0.0.1')).to.deep.equal({ held: true, s: '127.0.0.1' });
    // same length, first and last bytes: the same slot, other text
    expect(read(cache, '1x7.0.0.1')).to.deep.equal({ held: false, s: '1x7.0.0.1' });
    expect(read(cache, '127.0.0.1')).to.deep.equal({ held: false, s: '127.0.0.1' });
    expect(read(cache, '')).to.deep.equal({ held: true, s: '' });
  });

  it('holds no text that is not ASCII', () => {
    const cache = new StringCache();
    read(cache, 'café');
    expect(read(cache, 'café')).to.deep.equal({ held: false, s: 'café' });
    const latin = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // not UTF-8
    expect(cache.find(latin, 0, 4)).to.equal(undefined);
  });
});
