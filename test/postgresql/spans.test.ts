/** PostgreSQL span attributes per the database conventions, from messages the parser made of protocol-built bytes. */
import { expect } from 'chai';
import { StatusCode, type L7Message } from '../../core/signals';
import { ParseEngine } from '../../processors/parse/processor';
import { semconvFor } from '../../processors/span_builder/attributes';
import { Conversation, defaultSettings } from '../helpers/parse';
import { be, fe, startupAnswer } from './messages';

function messages(steps: Array<[Buffer, Buffer?]>): L7Message[] {
  const c = new Conversation('9a'.repeat(16));
  c.write(fe.startup({ user: 'app', database: 'shop' }));
  c.read(startupAnswer());
  for (const [req, resp] of steps) {
    c.write(req);
    if (resp) c.read(resp);
  }
  c.close();
  const e = new ParseEngine(defaultSettings({ protocols: ['postgresql'] }));
  return [...e.add(c.records, 0), ...e.flush()];
}

const shape = (m: L7Message) => semconvFor(m, { sensitiveQueryParameters: new Set() });

describe('postgresql spans', () => {
  it('names a query by its summary and gives the conventions their values', () => {
    const [m] = messages([[fe.query("SELECT name FROM users WHERE email = 'a@b'"), Buffer.concat([be.rowDescription('name'), be.dataRow('x'), be.dataRow('y'), be.commandComplete('SELECT 2'), be.ready()])]]);
    const s = shape(m);
    expect(s.name).to.equal('SELECT users');
    expect(s.status).to.deep.equal({ code: StatusCode.UNSET });
    expect(s.attributes).to.include({
      'db.system.name': 'postgresql',
      'db.namespace': 'shop',
      'db.operation.name': 'SELECT',
      'db.query.text': 'SELECT name FROM users WHERE email = ?',
      'db.query.summary': 'SELECT users',
      'db.response.returned_rows': 2,
      'server.port': 80,
      'network.transport': 'tcp',
    });
  });

  it('makes a SQLSTATE the status code and error type, with quoted values out of the message', () => {
    const [m] = messages([[fe.query("INSERT INTO users VALUES (1, 'x')"), Buffer.concat([be.error('23505', 'duplicate key value violates unique constraint "users_pkey"', 'Key (id)=(1) already exists.'), be.ready()])]]);
    const s = shape(m);
    expect(s.attributes).to.include({ 'db.response.status_code': '23505', 'error.type': '23505' });
    expect(s.status).to.deep.equal({ code: StatusCode.ERROR, message: 'duplicate key value violates unique constraint ?' });
  });

  it('names a batch BATCH and counts it; an Execute of an unknown statement takes its operation from the tag; an unanswered one is no_response', () => {
    const ms = messages([
      [fe.query('UPDATE a SET x = 1; DELETE FROM b'), Buffer.concat([be.commandComplete('UPDATE 1'), be.commandComplete('DELETE 2'), be.ready()])],
      [Buffer.concat([fe.bind('', 'unseen'), fe.execute(), fe.sync()]), Buffer.concat([be.bindComplete(), be.commandComplete('DELETE 4'), be.ready()])],
      [fe.query('SELECT pg_sleep(60)')],
    ]);
    const [batch, execute, waiting] = ms.map(shape);
    expect([batch.name, batch.attributes['db.operation.name'], batch.attributes['db.operation.batch.size'], batch.attributes['db.query.summary']]).to.deep.equal(['BATCH', 'BATCH', 2, 'BATCH']);
    expect([execute.name, execute.attributes['db.operation.name'], execute.attributes['db.query.text']]).to.deep.equal(['DELETE shop', 'DELETE', undefined]);
    expect(waiting.attributes['error.type']).to.equal('no_response');
    expect(waiting.status.code).to.equal(StatusCode.ERROR);
  });
});
