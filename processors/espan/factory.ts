import type { ProcessorFactory } from '../../core/component';
import { localHostInfo } from '../../core/host';
import { messagesToSpans } from './espan';
import { ResourceCache } from './resource';
import { DEFAULT_SENSITIVE_QUERY_PARAMETERS, sensitiveParameterSet } from '../../core/redaction';

export interface EspanConfig {
  resource: {
    service_name_env: string[];
    command_line: boolean;
    max_processes: number;
    refresh_interval: number;
    proc_root: string;
  };
  http: {
    sensitive_query_parameters: string[];
  };
}

export const espanFactory: ProcessorFactory<EspanConfig, 'messages', 'spans'> = {
  kind: 'processor',
  type: 'espan',
  consumes: 'messages',
  produces: 'spans',
  schema: {
    resource: {
      service_name_env: {
        doc: "Environment variables of the traced process that give service.name, first present wins; else OTEL_RESOURCE_ATTRIBUTES' service.name, else unknown_service:<executable>",
        format: 'string-list',
        default: ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
      },
      command_line: { doc: 'Set process.command_line (password-like arguments redacted).', format: Boolean, default: true },
      max_processes: { doc: 'Process resources cached; the oldest is dropped beyond it.', format: 'nat', default: 4096 },
      refresh_interval: { doc: 'How often a cached process is checked for pid reuse (one small /proc read).', format: 'duration', default: '30s' },
      proc_root: { doc: "Where the host's /proc is mounted (/host/proc in a container).", format: String, default: '/proc' },
    },
    http: {
      sensitive_query_parameters: {
        doc: 'Query parameters whose values become REDACTED in url.query and url.full (case-insensitive).',
        format: 'string-list',
        default: DEFAULT_SENSITIVE_QUERY_PARAMETERS,
      },
    },
  },
  create(config, ctx) {
    const resources = new ResourceCache({
      serviceNameEnv: config.resource.service_name_env,
      commandLine: config.resource.command_line,
      maxProcesses: config.resource.max_processes,
      refreshMs: config.resource.refresh_interval,
      procRoot: config.resource.proc_root,
      localHostId: localHostInfo().hostId,
    });
    const malformed = ctx.telemetry.counter('espan_espan_malformed_messages_total', 'Messages that could not become spans.');
    const processes = ctx.telemetry.gauge('espan_espan_cached_processes', 'Process resources cached.');
    return {
      operator: messagesToSpans(
        resources,
        { sensitiveQueryParameters: sensitiveParameterSet(config.http.sensitive_query_parameters) },
        {
          spans: () => processes(resources.size),
          malformed: (n) => {
            malformed(n);
            ctx.telemetry.dropped(n, 'malformed');
          },
        },
      ),
    };
  },
};
