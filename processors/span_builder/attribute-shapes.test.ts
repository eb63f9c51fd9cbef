import { expect } from 'chai';
import { AttributesBuilder } from './attribute-shapes';

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

  it('starts each span afresh: what a span that failed put is not in the next one', () => {
    const b = new AttributesBuilder();
    b.start().put('error.type', 'x');
    b.start().put('server.port', 1);
    expect(b.make()).to.deep.equal({ 'server.port': 1 });
  });
});
