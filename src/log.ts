import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; signatures of presigned URLs never reach them. */
export function createLogger(level: string, name = 'audio-service'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret'], censor: '***' },
  });
}

/** Strips the query (and with it the signature) from a URL before it is logged. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}
