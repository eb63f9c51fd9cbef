import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigInvalid, formatError, parseConfig } from '../core/config/load';
import { defaultRegistry } from '../registry';

const ROOT = path.join(__dirname, '..');

/** Every config shipped: the default pipeline, the role examples, the ones inside deployment manifests. */
function shippedConfigs(): Array<{ name: string; text: string }> {
  const out = [{ name: 'pipeline.yaml', text: fs.readFileSync(path.join(ROOT, 'pipeline.yaml'), 'utf8') }];
  const examples = path.join(ROOT, 'examples');
  if (fs.existsSync(examples)) {
    for (const f of fs.readdirSync(examples).filter((f) => f.endsWith('.yaml'))) {
      out.push({ name: `examples/${f}`, text: fs.readFileSync(path.join(examples, f), 'utf8') });
    }
  }
  const k8s = path.join(ROOT, 'deploy/kubernetes/espan.yaml');
  for (const doc of parseAllDocuments(fs.readFileSync(k8s, 'utf8'))) {
    const o = doc.toJS() as { kind?: string; metadata?: { name: string }; data?: Record<string, string> };
    if (o?.kind === 'ConfigMap' && o.data?.['pipeline.yaml']) out.push({ name: `deploy/kubernetes ${o.metadata!.name}`, text: o.data['pipeline.yaml'] });
  }
  return out;
}

describe('shipped configurations', () => {
  for (const { name, text } of shippedConfigs()) {
    it(`${name} is valid`, () => {
      try {
        parseConfig(text, name, defaultRegistry(), { OTEL_EXPORTER_OTLP_ENDPOINT: 'backend:4317', BACKEND_TOKEN: 't', LINKER_ENDPOINT: 'linker:4317' });
      } catch (e) {
        if (e instanceof ConfigInvalid) expect.fail(e.errors.map(formatError).join('\n'));
        throw e;
      }
    });
  }
});
