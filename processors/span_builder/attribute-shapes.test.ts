import { expect } from 'chai';
import { AttributesBuilder, KeyRun } from './attribute-shapes';

describe('span_builder attribute shapes', () => {
  it('makes the keys put, in their order, whatever the span before had', () => {
    const b = new AttributesBuilder();
    const make = (port: number, withPath: boolean) => {
      b.start().put('server.port', port);
      if (withPath) b.put('url.path', '/x');
      b.put('espan.req_seq', 2 ** 32 - 1);
      return b.make();
    };
    const one = make(80, true);
    expect(one).to.deep.equal({ 'server.port': 80, 'url.path': '/x', 'espan.req_seq': 2 ** 32 - 1 });
    expect(Object.keys(one)).to.deep.equal(['server.port', 'url.path', 'espan.req_seq']);
    expect(make(443, false)).to.deep.equal({ 'server.port': 443, 'espan.req_seq': 2 ** 32 - 1 });
    expect(make(8080, true)).to.deep.equal({ 'server.port': 8080, 'url.path': '/x', 'espan.req_seq': 2 ** 32 - 1 });
  });

  it('puts a run of keys as its keys one by one, wherever it comes', () => {
    const b = new AttributesBuilder();
    const run = new KeyRun(['server.address', 'server.port']);
    const withRun = (first: boolean) => {
      b.start();
      if (first) b.put('url.path', '/x');
      b.putRun(run);
      b.value('a');
      b.value(1);
      b.put('error.type', 'x');
      return b.make();
    };
    const byKey = (first: boolean) => {
      b.start();
      if (first) b.put('url.path', '/x');
      b.put('server.address', 'a');
      b.put('server.port', 1);
      b.put('error.type', 'x');
      return b.make();
    };
    for (const first of [true, false, true, true, false]) {
      const made = withRun(first);
      expect(made).to.deep.equal(byKey(first));
      expect(Object.keys(made)).to.deep.equal(Object.keys(byKey(first)));
    }
  });

  it('throws when a run was given more or fewer values than keys', () => {
    const b = new AttributesBuilder();
    b.start().putRun(new KeyRun(['a', 'b']));
    b.value(1);
    expect(() => b.make()).to.throw('1 attribute values for 2 keys');
  });

  it('starts each span afresh: what a span that failed put is not in the next one', () => {
    const b = new AttributesBuilder();
    b.start().put('error.type', 'x');
    b.start().put('server.port', 1);
    expect(b.make()).to.deep.equal({ 'server.port': 1 });
  });
});
