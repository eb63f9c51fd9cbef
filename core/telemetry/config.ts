/** The service's `telemetry:` block: its own logs and Prometheus self-metrics, as in the Collector. */
import { setting, type ConfigOf } from '../config/schema';

export const telemetrySchema = {
  metrics: {
    level: setting.oneOf(['none', 'basic', 'normal', 'detailed'], 'normal', 'none turns the Prometheus endpoint off'),
    address: setting.string('localhost:8888', 'host:port of the Prometheus /metrics endpoint'),
  },
  logs: {
    level: setting.oneOf(['debug', 'info', 'warn', 'error'], 'info', 'minimum log level'),
    encoding: setting.oneOf(['json', 'console', 'auto'], 'auto', 'json, console, or auto (console on a TTY)'),
  },
};

export type TelemetryConfig = ConfigOf<typeof telemetrySchema>;
