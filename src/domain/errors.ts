/**
 * Typed errors shared by the API and the worker. `code` is what GraphQL
 * clients see in errors[].extensions.code (contract: Errors table).
 */
export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'UPLOAD_NOT_FOUND'
  | 'SERVICE_UNAVAILABLE';

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badInput = (message: string, field?: string) =>
  new ApiError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (what = 'asset') => new ApiError('NOT_FOUND', `${what} not found`);
export const unauthenticated = (message = 'a valid bearer token is required') =>
  new ApiError('UNAUTHENTICATED', message);
