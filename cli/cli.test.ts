import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter, readCapture } from '../core/capture/format';
import { syntheticRecords } from '../test/helpers/records';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'espan');

function espan(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('espan CLI', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'espan-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints its version and help', () => {
    const v = espan(['--version']);
    expect(v.status).to.equal(0);
    expect(v.stdout.trim()).to.equal(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const h = espan(['--help']);
    expect(h.status).to.equal(0);
    expect(h.stdout).to.include('run').and.include('validate');
  });

  it('validate lists every error, one line each, and exits non-zero', () => {
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(
      file,
      `receivers:
  replay: {path: x.espancap, speed: fast}
  nosuch:
exporters:
  debug: {verbosity: everything}
service:
  pipelines:
    traces: {receivers: [replay], exporters: [debug, file]}
`,
    );
    const r = espan(['validate', '--config', file]);
    expect(r.status).to.equal(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).to.equal('4 errors in the configuration');
    expect(lines.slice(0, -1)).to.have.members([
      `${file}: receivers.replay.speed: expected a number, got string "fast"`,
      `${file}: receivers.nosuch: unknown receiver type "nosuch"; known types: ${lines[1].split('known types: ')[1]}`,
      `${file}: exporters.debug.verbosity: must be one of the possible values: ["basic","normal","detailed"]: value was "everything"`,
      `${file}: service.pipelines.traces.exporters[1]: exporter "file" is not defined under exporters or connectors`,
    ]);
  });

  it('validate accepts a good config', () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, 'receivers: {replay: {path: x}}\nexporters: {nop: {}}\nservice: {pipelines: {traces: {receivers: [replay], exporters: [nop]}}}\n');
    const r = espan(['validate', '-c', file]);
    expect(r.stderr).to.equal('');
    expect(r.status).to.equal(0);
  });

  it('run replays a capture into a new capture that matches it, then exits 0', async () => {
    const input = path.join(dir, 'in.espancap');
    const w = new CaptureWriter(input, 'test');
    w.write(syntheticRecords(5000, 11));
    w.close();
    const file = path.join(dir, 'copy.yaml');
    fs.writeFileSync(
      file,
      `receivers: {replay: {path: in.espancap}}
processors: {batch: {}}
exporters: {record: {path: out.espancap}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [replay], processors: [batch], exporters: [record]}}
`,
    );
    const r = espan(['run', '--config', file]);
    expect(r.status, r.stderr).to.equal(0);
    const out: number[] = [];
    for await (const b of readCapture(path.join(dir, 'out.espancap'))) out.push(...b.map((x) => x.index));
    expect(out).to.deep.equal(Array.from({ length: 5000 }, (_, i) => i));
    expect(r.stderr).to.include('"msg":"stopped"');
  });

  it('run exits 1 with the reason when the config is invalid or a receiver cannot start', () => {
    const file = path.join(dir, 'missing-input.yaml');
    fs.writeFileSync(file, 'receivers: {replay: {path: nowhere.espancap}}\nexporters: {nop: {}}\nservice: {telemetry: {metrics: {level: none}}, pipelines: {traces: {receivers: [replay], exporters: [nop]}}}\n');
    const r = espan(['run', '-c', file]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include('cannot start').and.include('ENOENT');
  });

  it('on SIGTERM loses nothing that was received: processors flush, exporters drain', async function () {
    // Paced replay keeps records coming (5 s of recorded time, so SIGTERM after 1.5 s lands in the
    // middle however fast the machine is); a batch processor with a long timeout holds them.
    const input = path.join(dir, 'slow.espancap');
    const w = new CaptureWriter(input, 'test');
    w.write(syntheticRecords(200_000, 5));
    w.close();
    const file = path.join(dir, 'sigterm.yaml');
    fs.writeFileSync(
      file,
      `receivers: {replay: {path: slow.espancap, timing: recorded, speed: 1}}
processors: {batch: {send_batch_size: 100000, timeout: 1h}}
exporters: {record: {path: sigterm-out.espancap}}
service:
  telemetry: {metrics: {level: none}, logs: {encoding: json}}
  pipelines: {traces: {receivers: [replay], processors: [batch], exporters: [record]}}
`,
    );
    const child = spawn(process.execPath, [BIN, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stderr.includes('espan is running')) {
          clearInterval(check);
          setTimeout(resolve, 1500);
        }
      }, 50);
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).to.equal(0);
    const stopped = stderr.split('\n').filter((l) => l.includes('"msg":"stopped"')).map((l) => JSON.parse(l))[0];
    expect(stopped.records).to.be.greaterThan(0).and.lessThan(200_000);
    let written = 0;
    for await (const b of readCapture(path.join(dir, 'sigterm-out.espancap'))) written += b.length;
    expect(written).to.equal(stopped.records);
  });
});
