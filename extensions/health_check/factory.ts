import * as http from 'node:http';
import type { Extension, ExtensionFactory, ExtensionHost } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import { listen } from '../../core/telemetry/server';

export const schema = {
  endpoint: setting.string('localhost:13133', 'host:port to serve on'),
  path: setting.string('/', 'URL path answering the check'),
};

export type HealthCheckConfig = ConfigOf<typeof schema>;

/**
 * The Collector's health_check extension: 200 while the pipelines run, 503
 * while starting or shutting down.
 */
export const healthCheckFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: 'extension',
  type: 'health_check',
  schema,
  create(config, ctx): Extension & { address?: string } {
    let server: http.Server | undefined;
    const started = new Date().toISOString();
    const ext: Extension & { address?: string } = {
      async start(host: ExtensionHost) {
        server = http.createServer((req, res) => {
          if ((req.url ?? '/').split('?')[0] !== config.path) {
            res.writeHead(404).end();
            return;
          }
          const ready = host.status() === 'ready';
          res
            .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: ready ? 'Server available' : 'Server not available', upSince: started }));
        });
        ext.address = await listen(server, config.endpoint);
        server.unref();
        ctx.logger.info('health check listening', { endpoint: ext.address, path: config.path });
      },
      shutdown: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
    };
    return ext;
  },
};
