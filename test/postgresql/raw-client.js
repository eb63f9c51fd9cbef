// A PostgreSQL client over the raw protocol (3.0), for the real-server tests:
// extended query with a named statement prepared once and executed several
// times in one pipeline, an unnamed statement, and a simple query that fails.
//   node raw-client.js PORT DATABASE USER
'use strict';
const net = require('node:net');

const [port, database, user] = process.argv.slice(2);

const cstr = (s) => Buffer.from(s + '\0');
const i16 = (n) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const msg = (type, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), i32(body.length + 4), body]);
};
const startup = () => {
  const body = Buffer.concat([i32(196608), cstr('user'), cstr(user), cstr('database'), cstr(database), cstr('application_name'), cstr('raw-client'), Buffer.from([0])]);
  return Buffer.concat([i32(body.length + 4), body]);
};
const parse = (name, sql) => msg('P', cstr(name), cstr(sql), i16(0));
const bind = (portal, statement, values) => msg('B', cstr(portal), cstr(statement), i16(0), i16(values.length), ...values.flatMap((v) => [i32(Buffer.byteLength(v)), Buffer.from(v)]), i16(0));
const describe = (kind, name) => msg('D', Buffer.from(kind), cstr(name));
const execute = () => msg('E', cstr(''), i32(0));
const sync = () => msg('S');
const query = (sql) => msg('Q', cstr(sql));

const sock = net.connect(Number(port), '127.0.0.1');
let buf = Buffer.alloc(0);
let waiting = null;
const errors = [];
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 5 && buf.length >= 1 + buf.readUInt32BE(1)) {
    const type = String.fromCharCode(buf[0]);
    const body = buf.subarray(5, 1 + buf.readUInt32BE(1));
    buf = buf.subarray(1 + buf.readUInt32BE(1));
    if (type === 'E') errors.push(/C([0-9A-Z]{5})\0/.exec(body.toString('latin1'))[1]);
    if (type === 'R' && body.readUInt32BE(0) !== 0) throw new Error('this client does trust authentication only');
    if (type === 'Z' && waiting) {
      const w = waiting;
      waiting = null;
      w();
    }
  }
});
const send = (...parts) =>
  new Promise((resolve) => {
    waiting = resolve;
    sock.write(Buffer.concat(parts));
  });

(async () => {
  await new Promise((r) => sock.once('connect', r));
  await send(startup());
  await send(parse('get_user', 'SELECT name FROM users WHERE id = $1'), describe('S', 'get_user'), sync());
  await send(...[1, 2, 3].flatMap((id) => [bind('', 'get_user', [String(id)]), execute()]), sync());
  await send(parse('', 'INSERT INTO events (note) VALUES ($1)'), bind('', '', ['raw-SECRET-note']), describe('P', ''), execute(), sync());
  await send(query('SELECT * FROM missing_table'));
  sock.end(msg('X'));
  console.log(JSON.stringify({ errors }));
})();
