import { z } from 'zod';
import { int } from './parsers.js';

/*
 * The authentication and operations-endpoint variables (src/auth,
 * src/server): their parsers and the fail-closed rule for the development
 * secret. parseConfig in config.ts reads them with every other variable.
 */

/** Variable name -> parser, spread into config.ts's schema in this order. */
export const authVariables = {
  AUTH_JWT_SECRET: z.string().min(32, 'expected at least 32 characters (HS256 needs a 256-bit key)').optional(),
  AUTH_JWKS_URL: z.string().trim().refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'expected the http(s):// URL of a JSON Web Key Set').optional(),
  AUTH_ISSUER: z.string().trim().min(1).optional(),
  AUTH_AUDIENCE: z.string().trim().min(1).optional(),
  AUTH_OWNER_CLAIM: z.string().trim().regex(/^[\w:/.-]{1,200}$/, 'expected a claim name such as sub or https://example.com/user_id').optional(),
  AUTH_CLOCK_TOLERANCE_SECONDS: int(0, 300).optional(),
  AUTH_JWKS_COOLDOWN_SECONDS: int(0, 3600).optional(),
  METRICS_PORT: int(1, 65535).optional(),
  METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters (it guards /metrics on the public port)').optional(),
};

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Fails closed (contract: Commands): the public development secret only
 * with embedded PostgreSQL and S3 on a loopback HOST outside production;
 * any other API process refuses to start without a real way to verify tokens.
 */
export function authProblems(e: { NODE_ENV?: string; AUTH_JWT_SECRET?: string; AUTH_JWKS_URL?: string; DATABASE_URL?: string; S3_ENDPOINT?: string; HOST?: string }, role: string) {
  const configured = Boolean(e.AUTH_JWT_SECRET || e.AUTH_JWKS_URL);
  const embedded = !e.DATABASE_URL && !e.S3_ENDPOINT;
  const loopback = isLoopbackHost(e.HOST ?? '127.0.0.1');
  const development = !configured && embedded && loopback && e.NODE_ENV !== 'production';
  if (configured || development || role === 'worker') return { development: development && role !== 'worker', problems: [] };
  const why =
    e.NODE_ENV === 'production'
      ? 'NODE_ENV=production'
      : !embedded
        ? 'DATABASE_URL or S3_ENDPOINT is set'
        : `HOST=${e.HOST} is not a loopback address`;
  return {
    development: false,
    problems: [`AUTH_JWT_SECRET or AUTH_JWKS_URL: required when ${why} (the development secret is public: it is used only with embedded PostgreSQL and S3 on a loopback HOST)`],
  };
}
