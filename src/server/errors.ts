import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApiError } from '../domain/errors.js';

/**
 * Maps typed errors to GraphQL errors (extensions.code = contract code) and
 * hides everything else: an unexpected error never shows its message, stack,
 * SQL or storage keys to clients in production.
 */
export function makeFormatError(options: { production: boolean; onUnexpected: (e: unknown) => void }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof ApiError) {
      return {
        message: original.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: original.code, ...original.details },
      };
    }
    if (isUnavailable(original)) {
      return {
        message: 'A backing service (database or storage) is unavailable; try again shortly.',
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      };
    }
    const code = formatted.extensions?.['code'];
    const isGraphQLRequestError =
      original instanceof GraphQLError && typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR';
    if (isGraphQLRequestError) {
      if (!options.production) return formatted;
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    options.onUnexpected(original);
    if (!options.production) return formatted;
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300']);

/**
 * A database or storage that cannot be reached is not a bug: clients get a
 * clear, retryable SERVICE_UNAVAILABLE instead of an internal error.
 */
export function isUnavailable(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = cur as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (name === 'ConnectionException') return true;
    if (typeof message === 'string' && /Connection terminated|connect ECONNREFUSED|the database system is (starting|shutting) down/.test(message)) return true;
  }
  return false;
}

export type FormatError = ReturnType<typeof makeFormatError>;

/**
 * graphql-ws sends errors as `error.toJSON()` and never calls Apollo's
 * formatError, so without this a socket would show raw messages (SQL,
 * storage keys) and lose the contract codes. Errors an async iterator threw
 * arrive wrapped without a path: unwrap them here. `extensions.http` is an
 * HTTP-only hint (Apollo strips it too).
 */
export function formatWsErrors(errors: readonly GraphQLError[], format: FormatError): GraphQLFormattedError[] {
  return errors.map((e) => {
    const original = e.path || !e.originalError ? e : e.originalError;
    const formatted = format(e.toJSON(), original);
    if (!formatted.extensions || !('http' in formatted.extensions)) return formatted;
    const { http: _http, ...extensions } = formatted.extensions;
    return { ...formatted, extensions };
  });
}
