import os from 'node:os';
import { z } from 'zod';
import { authProblems, authVariables } from './auth.js';
import { bool, int, MIB, origins, s3Endpoint, url } from './parsers.js';

/**
 * Every environment variable the service reads, parsed and validated in one
 * place. Nothing else in the code reads process.env: it receives a Config.
 * Units are in the names (…Seconds, …Bytes) so a call site cannot mix them.
 */
export interface Config {
  nodeEnv: 'production' | 'development' | 'test';
  port: number;
  host: string;
  /** null: start an embedded PostgreSQL. */
  databaseUrl: string | null;
  s3: {
    /** null: start an embedded S3 server; 'aws': AWS S3 itself. */
    endpoint: string | null;
    publicEndpoint: string | null;
    bucket: string;
    region: string;
    accessKeyId: string | null;
    secretAccessKey: string | null;
    forcePathStyle: boolean;
  };
  // --- Authentication and operations endpoints (src/auth, src/server) ---
  /** HS256 secret; null: no HS256 tokens, or the development secret when `authDevelopmentSecret`. */
  authJwtSecret: string | null;
  /** JWKS of an identity provider (RS256/ES256/EdDSA tokens); null: none. */
  authJwksUrl: string | null;
  /** Required `iss` / `aud` of every bearer token; null: not checked. */
  authIssuer: string | null;
  authAudience: string | null;
  /** The claim that names the owner. */
  authOwnerClaim: string;
  /** An unknown `kid` fetches the JWKS again at most this often (a flood of made-up kids costs one fetch). */
  authJwksCooldownSeconds: number;
  /** Clock difference tolerated on `exp`/`nbf`/`iat` between the token's issuer and us. */
  authClockToleranceSeconds: number;
  /**
   * The public development secret and /dev/token are in use: only with no
   * AUTH_JWT_SECRET/AUTH_JWKS_URL, embedded PostgreSQL and S3, a loopback
   * HOST, and not production (contract: Commands).
   */
  authDevelopmentSecret: boolean;
  /** A separate listener on HOST for /metrics; null: none. */
  metricsPort: number | null;
  /** Bearer token that unlocks /metrics on the public port; null: /metrics is not public. */
  metricsToken: string | null;
  // --- end of authentication and operations endpoints ---
  ffmpegPath: string | null;
  maxUploadBytes: number;
  maxDurationSeconds: number;
  jobTimeoutSeconds: number;
  playbackUrlTtlSeconds: number;
  uploadUrlTtlSeconds: number;
  workerConcurrency: number;
  multipartThresholdBytes: number;
  multipartPartBytes: number;
  tmpDir: string;
  uploadRateLimitPerMinute: number;
  /** Per-user quotas checked by prepareAudioUpload; 0 = no limit. */
  quotas: {
    /** Declared bytes of the user's assets that are not deleted or FAILED, the new upload included. */
    storedBytesPerUser: number;
    /** Seconds of audio that reached DONE since 00:00 UTC. */
    audioSecondsPerDay: number;
  };
  /** How long after its URLs expire an unfinished upload is swept (FAILED UPLOAD_EXPIRED). */
  uploadExpiryGraceSeconds: number;
  /** completeAudioUpload calls one user may make per minute (all API processes). */
  completeRateLimitPerMinute: number;
  /** renewUploadUrls calls one user may make per minute (all API processes). */
  renewRateLimitPerMinute: number;
  /** GraphQL complexity points one user's operations may spend per minute (all API processes); 0: no limit. */
  queryCostPerMinute: number;
  /**
   * Browser origins (scheme://host[:port]) allowed to call /graphql over HTTP
   * and WebSocket besides the service's own; outside production any
   * localhost origin is allowed too. The same origins may upload to the
   * bucket (src/storage/bucket-cors.ts merges them into its CORS rules).
   */
  corsAllowedOrigins: string[];
  /** graphql-ws sockets one user may hold open on one API process. */
  wsMaxConnectionsPerUser: number;
  /** Operations one graphql-ws socket may run at once. */
  wsMaxSubscriptionsPerConnection: number;
  graphqlExplorer: boolean;
  /** Where embedded services keep their data. */
  dataDir: string;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Variable name -> parser. Absent or empty variables take the defaults below. */
const schema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test'], 'expected production, development or test').optional(),
  PORT: int(0, 65535).optional(),
  HOST: z.string().trim().min(1).optional(),
  DATABASE_URL: url('a postgres:// connection string').optional(),
  S3_ENDPOINT: s3Endpoint.optional(),
  S3_PUBLIC_ENDPOINT: url('an http(s):// URL').optional(),
  S3_BUCKET: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 of a-z 0-9 . -)')
    .optional(),
  S3_REGION: z.string().trim().min(1).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  // Authentication and operations endpoints (auth.ts).
  ...authVariables,
  FFMPEG_PATH: z.string().trim().min(1).optional(),
  MAX_UPLOAD_BYTES: int(1, 2 ** 31 - 1).optional(),
  MAX_DURATION_SECONDS: int(1).optional(),
  JOB_TIMEOUT_SECONDS: int(1).optional(),
  PLAYBACK_URL_TTL_SECONDS: int(1, 604800).optional(),
  UPLOAD_URL_TTL_SECONDS: int(1, 604800).optional(),
  WORKER_CONCURRENCY: int(1, 256).optional(),
  MULTIPART_THRESHOLD_BYTES: int(5 * MIB).optional(),
  MULTIPART_PART_BYTES: int(5 * MIB, 5 * 1024 * MIB).optional(),
  TMPDIR: z.string().trim().min(1).optional(),
  UPLOAD_RATE_LIMIT_PER_MINUTE: int(1).optional(),
  QUOTA_STORED_BYTES_PER_USER: int(0).optional(),
  QUOTA_AUDIO_SECONDS_PER_DAY: int(0).optional(),
  COMPLETE_RATE_LIMIT_PER_MINUTE: int(1).optional(),
  RENEW_RATE_LIMIT_PER_MINUTE: int(1).optional(),
  QUERY_COST_PER_MINUTE: int(0, 2_000_000_000).optional(),
  CORS_ALLOWED_ORIGINS: origins.optional(),
  WS_MAX_CONNECTIONS_PER_USER: int(1, 10_000).optional(),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 1000).optional(),
  UPLOAD_EXPIRY_GRACE_SECONDS: int(0).optional(),
  GRAPHQL_EXPLORER: bool.optional(),
  DATA_DIR: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

/** Names of every variable the service reads (docs and compose checks use it). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface ParseOptions {
  /** The process's role: a worker-only process verifies no tokens, so it needs no auth settings. */
  role?: 'api' | 'worker' | 'all';
}

/** Pure: environment in, Config out, or a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>, cwd = process.cwd(), options: ParseOptions = {}): Config {
  const present = Object.fromEntries(
    CONFIG_VARIABLES.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(present[String(i.path[0])])}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const nodeEnv = e.NODE_ENV ?? 'development';
  const auth = authProblems(e, options.role ?? 'all');
  const problems: string[] = [...auth.problems];
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === (e.PORT ?? 4000)) {
    problems.push(`METRICS_PORT=${e.METRICS_PORT}: must differ from PORT (the metrics listener is a separate one)`);
  }
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither');
  }
  if (e.S3_PUBLIC_ENDPOINT && !e.S3_ENDPOINT) {
    problems.push('S3_PUBLIC_ENDPOINT: only meaningful together with S3_ENDPOINT');
  }
  if (problems.length) throw new ConfigError(problems);

  const endpoint = e.S3_ENDPOINT ?? null;
  return {
    nodeEnv,
    port: e.PORT ?? 4000,
    host: e.HOST ?? '127.0.0.1',
    databaseUrl: e.DATABASE_URL ?? null,
    s3: {
      endpoint,
      publicEndpoint: e.S3_PUBLIC_ENDPOINT ?? null,
      bucket: e.S3_BUCKET ?? 'audio',
      region: e.S3_REGION ?? 'us-east-1',
      accessKeyId: e.S3_ACCESS_KEY_ID ?? null,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? null,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? endpoint !== 'aws',
    },
    authJwtSecret: e.AUTH_JWT_SECRET ?? null,
    authJwksUrl: e.AUTH_JWKS_URL ?? null,
    authIssuer: e.AUTH_ISSUER ?? null,
    authAudience: e.AUTH_AUDIENCE ?? null,
    authOwnerClaim: e.AUTH_OWNER_CLAIM ?? 'sub',
    // A few seconds: the issuer's clock and ours are NTP-synced, not identical.
    authClockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_SECONDS ?? 5,
    // jose's default: a rotation is picked up within 30 s of the last fetch.
    authJwksCooldownSeconds: e.AUTH_JWKS_COOLDOWN_SECONDS ?? 30,
    authDevelopmentSecret: auth.development,
    metricsPort: e.METRICS_PORT ?? null,
    metricsToken: e.METRICS_TOKEN ?? null,
    ffmpegPath: e.FFMPEG_PATH ?? null,
    maxUploadBytes: e.MAX_UPLOAD_BYTES ?? 1024 * MIB,
    maxDurationSeconds: e.MAX_DURATION_SECONDS ?? 14400,
    jobTimeoutSeconds: e.JOB_TIMEOUT_SECONDS ?? 900,
    playbackUrlTtlSeconds: e.PLAYBACK_URL_TTL_SECONDS ?? 86400,
    uploadUrlTtlSeconds: e.UPLOAD_URL_TTL_SECONDS ?? 900,
    workerConcurrency: e.WORKER_CONCURRENCY ?? Math.max(1, os.availableParallelism()),
    multipartThresholdBytes: e.MULTIPART_THRESHOLD_BYTES ?? 64 * MIB,
    multipartPartBytes: e.MULTIPART_PART_BYTES ?? 16 * MIB,
    tmpDir: e.TMPDIR ?? os.tmpdir(),
    uploadRateLimitPerMinute: e.UPLOAD_RATE_LIMIT_PER_MINUTE ?? 120,
    quotas: {
      storedBytesPerUser: e.QUOTA_STORED_BYTES_PER_USER ?? 0,
      audioSecondsPerDay: e.QUOTA_AUDIO_SECONDS_PER_DAY ?? 0,
    },
    // complete is idempotent and clients poll it after UPLOAD_NOT_FOUND; each call is a row read + a storage HEAD.
    completeRateLimitPerMinute: e.COMPLETE_RATE_LIMIT_PER_MINUTE ?? 600,
    // a multipart renew presigns every part again (up to ~200 URLs).
    renewRateLimitPerMinute: e.RENEW_RATE_LIMIT_PER_MINUTE ?? 120,
    queryCostPerMinute: e.QUERY_COST_PER_MINUTE ?? 100_000,
    corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS ?? [],
    // the web app holds one socket per tab; the explorer one more.
    wsMaxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER ?? 20,
    wsMaxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION ?? 20,
    uploadExpiryGraceSeconds: e.UPLOAD_EXPIRY_GRACE_SECONDS ?? 300,
    graphqlExplorer: e.GRAPHQL_EXPLORER ?? nodeEnv !== 'production',
    dataDir: e.DATA_DIR ?? `${cwd}/.data`,
    logLevel: e.LOG_LEVEL ?? (nodeEnv === 'test' ? 'warn' : 'info'),
  };
}

/** The effective configuration with secrets masked, for --print-config. */
export function describeConfig(config: Config): Record<string, unknown> {
  const mask = (v: string | null) => (v ? '***' : v);
  return {
    ...config,
    databaseUrl: config.databaseUrl?.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@') ?? null,
    authJwtSecret: mask(config.authJwtSecret),
    metricsToken: mask(config.metricsToken),
    s3: { ...config.s3, secretAccessKey: mask(config.s3.secretAccessKey) },
  };
}
