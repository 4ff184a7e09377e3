/**
 * What each variable means and what it defaults to, for people: the source
 * of docs/configuration.md (`npm run config:docs`). A test fails when a
 * variable the config module reads has no entry here, or the doc is stale.
 */
export const CONFIG_REFERENCE: Record<string, { meaning: string; default: string }> = {
  NODE_ENV: { meaning: '`production` hides stack traces and internals from errors, turns the explorer, introspection and development tokens off, and requires AUTH_JWT_SECRET or AUTH_JWKS_URL', default: '`development`' },
  PORT: { meaning: 'HTTP + WebSocket port (every role listens: workers for /healthz, and /metrics with METRICS_TOKEN)', default: '`4000`' },
  HOST: { meaning: 'listen address', default: '`127.0.0.1`' },
  DATABASE_URL: { meaning: 'PostgreSQL connection string', default: 'an embedded PostgreSQL (data under DATA_DIR)' },
  S3_ENDPOINT: { meaning: 'S3 API endpoint URL, or `aws` for AWS S3 itself', default: 'an embedded S3 server (data under DATA_DIR)' },
  S3_PUBLIC_ENDPOINT: { meaning: 'endpoint used in URLs handed to clients, when it differs (URLs are signed for it: SigV4 signs the host)', default: '`S3_ENDPOINT`' },
  S3_BUCKET: { meaning: 'bucket (created if missing, with a lifecycle rule where the storage supports it)', default: '`audio`' },
  S3_REGION: { meaning: 'region', default: '`us-east-1`' },
  S3_ACCESS_KEY_ID: { meaning: 'access key (set both or neither)', default: "the embedded server's, or the AWS SDK's default chain" },
  S3_SECRET_ACCESS_KEY: { meaning: 'secret key (set both or neither)', default: "the embedded server's, or the AWS SDK's default chain" },
  S3_FORCE_PATH_STYLE: { meaning: 'path-style URLs, as MinIO-style endpoints need', default: '`true` unless `S3_ENDPOINT=aws`' },
  AUTH_JWT_SECRET: { meaning: 'HS256 secret (at least 32 characters) that verifies bearer JWTs; it or AUTH_JWKS_URL is required by API processes unless PostgreSQL and S3 are the embedded ones and HOST is loopback (then, outside production, a public development secret is used, printed with a ready token at start-up); worker-only processes need neither', default: 'none (the development secret on embedded servers)' },
  AUTH_JWKS_URL: { meaning: "JWKS URL of an identity provider: RS256/ES256/EdDSA bearer tokens are verified against its keys (cached 10 min, fetched again for an unknown `kid` at most every AUTH_JWKS_COOLDOWN_SECONDS; the last keys keep working while it is unreachable); with or instead of AUTH_JWT_SECRET", default: 'none' },
  AUTH_JWKS_COOLDOWN_SECONDS: { meaning: 'a token with an unknown `kid` fetches the JWKS again at most this often (a rotated key is picked up within it; a flood of made-up kids costs one fetch)', default: '`30`' },
  AUTH_ISSUER: { meaning: 'required `iss` of every bearer token (exact match)', default: 'not checked' },
  AUTH_AUDIENCE: { meaning: 'required `aud` of every bearer token (one of its values)', default: 'not checked' },
  AUTH_OWNER_CLAIM: { meaning: 'the token claim (a string) that names the owner of assets', default: '`sub`' },
  AUTH_CLOCK_TOLERANCE_SECONDS: { meaning: "clock difference tolerated on `exp`, `nbf` and `iat` (0-300); a socket closes at `exp` plus this (tokens must carry `exp`)", default: '`5`' },
  METRICS_PORT: { meaning: 'serve Prometheus metrics at /metrics on this separate port (on HOST), without a token', default: 'none' },
  METRICS_TOKEN: { meaning: 'bearer token (at least 16 characters) that unlocks /metrics on the public port; without it /metrics is not served there', default: 'none (then /metrics is not public)' },
  FFMPEG_PATH: { meaning: 'ffmpeg binary', default: '`ffmpeg` on PATH, else the one `npm install` brought (with a warning)' },
  MAX_UPLOAD_BYTES: { meaning: 'largest accepted upload', default: '`1073741824` (1 GiB)' },
  MAX_DURATION_SECONDS: { meaning: 'longest accepted audio (FAILED TOO_LONG beyond it)', default: '`14400` (4 h)' },
  JOB_TIMEOUT_SECONDS: { meaning: 'processing time limit per attempt; reaching it is final (FAILED TIMEOUT)', default: '`900`' },
  PLAYBACK_URL_TTL_SECONDS: { meaning: 'lifetime of the presigned GET in `url`: each one is valid for at least this long after it is returned; the same URL is reused per asset within a signing window of min(1 h, TTL/4), so it lives at most TTL + that window (7 days at most)', default: '`86400`' },
  UPLOAD_URL_TTL_SECONDS: { meaning: 'lifetime of presigned upload URLs', default: '`900`' },
  UPLOAD_EXPIRY_GRACE_SECONDS: { meaning: 'how long after its URLs expired an unfinished upload is swept (FAILED UPLOAD_EXPIRED)', default: '`300`' },
  WORKER_CONCURRENCY: { meaning: 'jobs one worker process runs at once', default: 'number of CPUs' },
  MULTIPART_THRESHOLD_BYTES: { meaning: 'uploads of this size or more get `multipart` instead of `uploadUrl`', default: '`67108864` (64 MiB)' },
  MULTIPART_PART_BYTES: { meaning: 'part size of a multipart upload (at least 5 MiB)', default: '`16777216` (16 MiB)' },
  TMPDIR: { meaning: 'where workers write temporary files (one private dir per job, removed at every ending)', default: "the system's" },
  UPLOAD_RATE_LIMIT_PER_MINUTE: { meaning: 'prepareAudioUpload calls one user may make per minute, across all API processes', default: '`120`' },
  QUOTA_STORED_BYTES_PER_USER: { meaning: 'most declared bytes one user may have in assets that are not deleted or FAILED, the new upload included (prepareAudioUpload answers QUOTA_EXCEEDED beyond it); 0 = no limit', default: '`0`' },
  QUOTA_AUDIO_SECONDS_PER_DAY: { meaning: 'most seconds of audio one user may have processed to DONE per UTC day: prepareAudioUpload answers QUOTA_EXCEEDED once today\'s reach it; 0 = no limit', default: '`0`' },
  COMPLETE_RATE_LIMIT_PER_MINUTE: { meaning: 'completeAudioUpload calls one user may make per minute, across all API processes', default: '`600`' },
  RENEW_RATE_LIMIT_PER_MINUTE: { meaning: 'renewUploadUrls calls one user may make per minute, across all API processes', default: '`120`' },
  QUERY_COST_PER_MINUTE: { meaning: 'GraphQL complexity points one user\'s operations may spend per minute, across all API processes (RATE_LIMITED beyond it); operations under 100 points (one asset, `__typename`) are not counted; 0 = no limit', default: '`100000`' },
  CORS_ALLOWED_ORIGINS: { meaning: 'extra browser origins (comma-separated, scheme://host[:port]) of the web app: allowed to call the API and open WebSockets (others get 403), and merged into the bucket\'s CORS rules so those pages may upload to storage (set the app\'s public origin here when it is served under another host than `HOST`:`PORT`, e.g. behind a proxy)', default: 'same origin only (plus localhost outside production)' },
  WS_MAX_CONNECTIONS_PER_USER: { meaning: 'open graphql-ws connections one user may hold on one API process (more are closed with 4429)', default: '`20`' },
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: { meaning: 'operations one graphql-ws connection may run at once', default: '`20`' },
  GRAPHQL_EXPLORER: { meaning: 'the GraphiQL explorer at GET /graphql and introspection', default: 'on, except with NODE_ENV=production' },
  DATA_DIR: { meaning: 'where the embedded PostgreSQL and S3 keep their data', default: '`./.data`' },
  LOG_LEVEL: { meaning: 'pino log level (fatal, error, warn, info, debug, trace, silent)', default: '`info`' },
};

export function renderConfigReference(variables: readonly string[]): string {
  const rows = variables.map((name) => {
    const entry = CONFIG_REFERENCE[name];
    if (!entry) throw new Error(`${name} has no entry in src/config/reference.ts`);
    return `| \`${name}\` | ${entry.meaning} | ${entry.default} |`;
  });
  return [
    '# Configuration',
    '',
    'Generated from `src/config/reference.ts` and the variables `src/config/config.ts` reads',
    '(`npm run config:docs`; a test fails when this file is stale). Every variable is validated',
    'at start-up; a bad value stops the service with a message naming it.',
    '`npm start -- --print-config` prints the effective configuration with secrets masked.',
    '',
    '| variable | meaning | default |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
