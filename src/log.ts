import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level: string;
  /** Human-readable lines (development on a terminal); JSON otherwise. */
  pretty?: boolean;
  name?: string;
}

/**
 * Structured JSON logs (pino). Tokens and secrets are redacted by key; the
 * ffmpeg runner strips presigned URL signatures from what it passes on.
 */
export function createLogger(o: LogOptions | string): Logger {
  const { level, pretty = false, name = 'audio-service' } = typeof o === 'string' ? { level: o } : o;
  return pino({
    name,
    level,
    redact: {
      paths: ['authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret', 'headers.authorization'],
      censor: '***',
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' } } } : {}),
  });
}
