import { silentLogger, type LogEvent, type LogLevel, type Logger } from '../log/logger.js';
import type { ReportTo } from './request.js';

/**
 * The logger a request reports through: its own, else one that hands `onEvent` the events
 * `--json` prints (debug lines and command output left out, as `--json` leaves them out without
 * --debug and --verbose), else a silent one.
 */
export function loggerFor(request: ReportTo): Logger {
  if (request.logger) return request.logger;
  const onEvent = request.onEvent;
  if (!onEvent) return silentLogger;
  const log = (level: LogLevel) => (message: string) => onEvent({ type: 'log', level, message });
  return {
    ...silentLogger,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    event: (event: LogEvent) => onEvent(event),
  };
}
