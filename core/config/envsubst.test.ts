import { expect } from 'chai';
import { expandEnv, expandString } from './envsubst';

describe('environment expansion (Collector rules)', () => {
  const env = { HOST: 'collector', PORT: '4317', FLAG: 'true', EMPTY: '', LIST: '[a, b]' };

  it('expands ${env:VAR} and ${VAR}', () => {
    expect(expandString('${env:HOST}', env)).to.equal('collector');
    expect(expandString('${HOST}', env)).to.equal('collector');
  });

  it('gives a whole-value reference the YAML type of its value', () => {
    expect(expandString('${env:PORT}', env)).to.equal(4317);
    expect(expandString('${env:FLAG}', env)).to.equal(true);
    // a list-looking value stays text: only scalars take a YAML type
    expect(expandString('${env:LIST}', env)).to.equal('[a, b]');
  });

  it('keeps embedded references as text', () => {
    expect(expandString('http://${env:HOST}:${env:PORT}/v1', env)).to.equal('http://collector:4317/v1');
  });

  it('uses the default after :- when the variable is unset or empty', () => {
    expect(expandString('${env:NOPE:-localhost}', env)).to.equal('localhost');
    expect(expandString('${env:EMPTY:-fallback}', env)).to.equal('fallback');
    expect(expandString('${env:NOPE:-4318}', env)).to.equal(4318);
    expect(expandString('x-${env:HOST:-other}', env)).to.equal('x-collector');
  });

  it('turns $$ into a literal $ and leaves escaped references alone', () => {
    expect(expandString('price: $$5', env)).to.equal('price: $5');
    expect(expandString('$${env:HOST}', env)).to.equal('${env:HOST}');
    expect(expandString('$HOST stays', env)).to.equal('$HOST stays');
  });

  it('expands an unset variable to an empty string and reports it', () => {
    const unset: Array<{ path: string; message: string }> = [];
    expect(expandString('a${env:MISSING}b', env, 'exporters.otlp.endpoint', unset)).to.equal('ab');
    expect(unset).to.deep.equal([{ path: 'exporters.otlp.endpoint', message: 'environment variable MISSING is not set; it expands to an empty string' }]);
  });

  it('walks a whole document, values only, never keys', () => {
    const doc = { '${HOST}': { endpoint: '${HOST}:${PORT}', list: ['${env:PORT}', 'x'] } };
    expect(expandEnv(doc, env)).to.deep.equal({ '${HOST}': { endpoint: 'collector:4317', list: [4317, 'x'] } });
  });
});
