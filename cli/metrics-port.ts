/**
 * A metrics address that cannot be listened on (taken by another ingest, alerts or collector on this
 * machine, most often): say which setting chose it and what to set instead, rather than only the
 * socket's EADDRINUSE.
 */
import { UserError } from '../core/errors.js';

/**
 * The user-facing error for `err` from MetricsServer.start(), or null when it is another failure.
 * @param component the config section (`ingest`, `alerts`, `collector`) whose `metricsListen` it was
 * @param fromFlag whether the address came from --metrics-listen rather than the configuration
 */
export function metricsPortError(err: unknown, listen: string, component: 'ingest' | 'alerts' | 'collector', fromFlag: boolean): UserError | null {
  const message = (err as Error).message ?? '';
  if (!/^cannot serve \w+ metrics on /.test(message) || !/EADDRINUSE|EACCES|EADDRNOTAVAIL/.test(message)) return null;
  const command = component === 'alerts' ? 'alerts run' : component;
  const why = /EADDRINUSE/.test(message) ? `is already in use (another isoscope ${command} on this machine?)` : /EACCES/.test(message) ? 'may not be used by this user' : 'is not an address of this machine';
  const source = fromFlag ? '--metrics-listen' : `${component}.metricsListen (config file, or ISOSCOPE_${component.toUpperCase()}_METRICS_LISTEN)`;
  return new UserError(`the ${component} metrics address ${listen} ${why}; it comes from ${source}: set it to a free host:port, to 127.0.0.1:0 for any free port (the address is printed at start), or to off`);
}
