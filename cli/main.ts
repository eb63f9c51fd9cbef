/**
 * espan's command line: run a pipeline, validate a config, list components.
 * Exit status: 0 clean; 1 the config is invalid or a component could not
 * start; 3 stopped, but items were lost (undelivered at shutdown) or a
 * component failed while stopping.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { ConfigInvalid, formatError, loadConfigFile } from '../core/config/load';
import { describeSchema } from '../core/config/schema';
import { Service } from '../core/service';
import { createLogger } from '../core/telemetry/logger';
import { defaultRegistry } from '../registry';
import { startStatus, statusTotals } from './status';

export const EXIT = { OK: 0, CONFIG: 1, LOST: 3 } as const;

/** The repository root: where package.json and the default pipeline.yaml live. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function defaultConfig(): string {
  return path.join(packageRoot(), 'pipeline.yaml');
}

function printConfigErrors(e: ConfigInvalid): void {
  for (const err of e.errors) process.stderr.write(formatError(err) + '\n');
  process.stderr.write(`${e.errors.length} error${e.errors.length === 1 ? '' : 's'} in the configuration\n`);
}

export async function validate(file: string): Promise<number> {
  try {
    const cfg = loadConfigFile(file, defaultRegistry());
    for (const w of cfg.warnings) process.stderr.write(`warning: ${formatError(w)}\n`);
    process.stdout.write(`${file}: valid (${cfg.pipelines.length} pipeline${cfg.pipelines.length === 1 ? '' : 's'}: ${cfg.pipelines.map((p) => p.id).join(', ')})\n`);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof ConfigInvalid) {
      printConfigErrors(e);
      return EXIT.CONFIG;
    }
    throw e;
  }
}

export async function run(file: string): Promise<number> {
  let cfg;
  try {
    cfg = loadConfigFile(file, defaultRegistry());
  } catch (e) {
    if (e instanceof ConfigInvalid) {
      printConfigErrors(e);
      return EXIT.CONFIG;
    }
    throw e;
  }
  const service = new Service(cfg);
  const log = service.logger;
  try {
    await service.start();
  } catch (e) {
    log.error('cannot start', { error: (e as Error).message });
    await service.shutdown().catch(() => undefined);
    return EXIT.CONFIG;
  }
  log.info('espan is running', { config: file, pipelines: cfg.pipelines.map((p) => p.id) });
  const stopStatus = startStatus(service.metrics, log, Boolean(process.stderr.isTTY));

  const reason = await new Promise<string>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      // A second signal means: stop now.
      process.once(sig, () => process.exit(130));
      resolve(sig);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Finite receivers (replay, pcap) end by themselves.
    service.receiversFinished().then(() => resolve('all receivers finished'));
  });
  stopStatus();
  log.info('shutting down', { reason });
  const report = await service.shutdown();
  const totals = await statusTotals(service.metrics);
  log.info('stopped', { records: totals.records, spans: totals.spans, drops: totals.drops, lost: report.lost, failures: report.failures });
  return report.lost > 0 || report.failures.length > 0 ? EXIT.LOST : EXIT.OK;
}

function listComponents(): void {
  const registry = defaultRegistry();
  for (const kind of ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const) {
    for (const type of registry.types(kind)) {
      const f = registry.get(kind, type)!;
      if (f.type !== type) continue; // aliases are listed with their factory
      const aliases = f.aliases?.length ? ` (also ${f.aliases.join(', ')})` : '';
      const formerly = f.deprecatedAliases?.length ? ` (formerly ${f.deprecatedAliases.join(', ')})` : '';
      process.stdout.write(`${kind} ${type}${aliases}${formerly}\n`);
      for (const row of describeSchema(f.schema)) {
        process.stdout.write(`    ${row.key} = ${JSON.stringify(row.default)}${row.doc ? `  # ${row.doc}` : ''}\n`);
      }
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  let code = EXIT.OK as number;
  const program = new Command()
    .name('espan')
    .description('Zero-instrumentation distributed tracing: eBPF capture to OTLP traces, as an OpenTelemetry-Collector-compatible pipeline')
    .version(version(), '-v, --version')
    .exitOverride();
  program
    .command('run', { isDefault: true })
    .description('run the pipelines of a config file')
    .option('-c, --config <file>', 'pipeline config (OpenTelemetry Collector shape)', defaultConfig())
    .action(async (o: { config: string }) => {
      code = await run(o.config);
    });
  program
    .command('validate')
    .description('check a config file and list every problem, one per line')
    .option('-c, --config <file>', 'pipeline config', defaultConfig())
    .action(async (o: { config: string }) => {
      code = await validate(o.config);
    });
  program
    .command('components')
    .description('list the known component types and their settings with defaults')
    .action(() => listComponents());
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const ce = e as { exitCode?: number; code?: string };
    if (ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version' || ce.code === 'commander.help') return EXIT.OK;
    if (typeof ce.exitCode === 'number') return ce.exitCode;
    createLogger().error('espan failed', { error: (e as Error).stack ?? String(e) });
    return 2;
  }
  return code;
}

if (require.main === module) {
  main(process.argv).then((c) => process.exit(c));
}
