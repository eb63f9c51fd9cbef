import type { ProcessorFactory } from '../../core/component';
import { setting, type ConfigOf } from '../../core/config/schema';
import { localHostInfo } from '../../core/host';
import { DEFAULT_SENSITIVE_QUERY_PARAMETERS, sensitiveParameterSet } from '../../core/redaction';
import { messagesToSpans } from './spans';
import { ResourceCache } from './resource';

export const schema = {
  resource: {
    service_name_env: setting.stringList(
      ['OTEL_SERVICE_NAME', 'DD_SERVICE', 'DK_BPFTRACE_SERVICE'],
      "Environment variables of the traced process that give service.name, first present wins; else OTEL_RESOURCE_ATTRIBUTES' service.name, else unknown_service:<executable>",
    ),
    command_line: setting.bool(true, 'Set process.command_line (password-like arguments redacted).'),
    max_processes: setting.nat(4096, 'Process resources cached; the oldest is dropped beyond it.'),
    refresh_interval: setting.duration('30s', 'How often a cached process is checked for pid reuse or exec (one small /proc read).'),
    proc_root: setting.string('/proc', "Where the host's /proc is mounted (/host/proc in a container)."),
  },
  http: {
    sensitive_query_parameters: setting.stringList(DEFAULT_SENSITIVE_QUERY_PARAMETERS, 'Query parameters whose values become REDACTED in url.query and url.full (case-insensitive).'),
  },
};

export type SpanBuilderConfig = ConfigOf<typeof schema>;

/** Messages to spans (eSpans). Its first name, `espan`, still loads, with a warning: it named the project too. */
export const spanBuilderFactory: ProcessorFactory<SpanBuilderConfig, 'messages', 'spans'> = {
  kind: 'processor',
  type: 'span_builder',
  deprecatedAliases: ['espan'],
  consumes: 'messages',
  produces: 'spans',
  schema,
  create(config, ctx) {
    const resources = new ResourceCache({
      serviceNameEnv: config.resource.service_name_env,
      commandLine: config.resource.command_line,
      maxProcesses: config.resource.max_processes,
      refreshMs: config.resource.refresh_interval,
      procRoot: config.resource.proc_root,
      localHostId: localHostInfo().hostId,
    });
    const malformed = ctx.telemetry.counter('espan_span_builder_malformed_messages_total', 'Messages that could not become spans.');
    const processes = ctx.telemetry.gauge('espan_span_builder_cached_processes', 'Process resources cached.');
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
