import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CONFIG_VARIABLES, ConfigError, describeConfig, parseConfig } from '../../src/config/config.js';

const errorOf = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.message;
  }
  assert.fail('expected a ConfigError');
};

describe('config', () => {
  it('gives the contract defaults for an empty environment', () => {
    const c = parseConfig({}, '/srv/app');
    assert.equal(c.port, 4000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.databaseUrl, null);
    assert.equal(c.s3.endpoint, null);
    assert.equal(c.s3.bucket, 'audio');
    assert.equal(c.s3.region, 'us-east-1');
    assert.equal(c.s3.forcePathStyle, true);
    assert.equal(c.maxUploadBytes, 1073741824);
    assert.equal(c.maxDurationSeconds, 14400);
    assert.equal(c.jobTimeoutSeconds, 900);
    assert.equal(c.playbackUrlTtlSeconds, 86400);
    assert.equal(c.uploadUrlTtlSeconds, 900);
    assert.equal(c.multipartThresholdBytes, 67108864);
    assert.equal(c.multipartPartBytes, 16777216);
    assert.equal(c.uploadRateLimitPerMinute, 120);
    assert.equal(c.nodeEnv, 'development');
    assert.equal(c.graphqlExplorer, true);
    assert.equal(c.dataDir, '/srv/app/.data');
    assert.ok(c.workerConcurrency >= 1);
  });

  it('reads every variable it documents', () => {
    const c = parseConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u:p@db:5432/audio',
      S3_ENDPOINT: 'http://minio:9000',
      S3_PUBLIC_ENDPOINT: 'http://localhost:9000',
      S3_BUCKET: 'my-bucket',
      S3_REGION: 'eu-west-1',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'false',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      FFMPEG_PATH: '/usr/bin/ffmpeg',
      MAX_UPLOAD_BYTES: '1000',
      MAX_DURATION_SECONDS: '60',
      JOB_TIMEOUT_SECONDS: '30',
      PLAYBACK_URL_TTL_SECONDS: '600',
      UPLOAD_URL_TTL_SECONDS: '120',
      WORKER_CONCURRENCY: '3',
      MULTIPART_THRESHOLD_BYTES: String(6 * 1024 * 1024),
      MULTIPART_PART_BYTES: String(5 * 1024 * 1024),
      TMPDIR: '/scratch',
      UPLOAD_RATE_LIMIT_PER_MINUTE: '5',
      NODE_ENV: 'production',
    });
    assert.equal(c.port, 8080);
    assert.equal(c.s3.publicEndpoint, 'http://localhost:9000');
    assert.equal(c.s3.forcePathStyle, false);
    assert.equal(c.maxDurationSeconds, 60);
    assert.equal(c.workerConcurrency, 3);
    assert.equal(c.tmpDir, '/scratch');
    assert.equal(c.graphqlExplorer, false);
  });

  it('turns path-style off by default for AWS itself', () => {
    assert.equal(parseConfig({ S3_ENDPOINT: 'aws', AUTH_JWT_SECRET: 'x'.repeat(32) }).s3.forcePathStyle, false);
  });

  it('names the variable and what was expected for a bad value', () => {
    assert.match(errorOf({ PORT: 'eighty' }), /PORT="eighty": expected a whole number/);
    assert.match(errorOf({ PORT: '70000' }), /PORT="70000": expected at most 65535/);
    assert.match(errorOf({ MULTIPART_PART_BYTES: '1024' }), /MULTIPART_PART_BYTES="1024": expected at least 5242880/);
    assert.match(errorOf({ S3_ENDPOINT: 'minio:9000' }), /S3_ENDPOINT="minio:9000": expected an http\(s\):\/\/ URL or "aws"/);
    assert.match(errorOf({ S3_FORCE_PATH_STYLE: 'maybe' }), /S3_FORCE_PATH_STYLE="maybe": expected true or false/);
    assert.match(errorOf({ NODE_ENV: 'staging' }), /NODE_ENV="staging"/);
    assert.match(errorOf({ JOB_TIMEOUT_SECONDS: '0' }), /JOB_TIMEOUT_SECONDS="0": expected at least 1/);
  });

  it('reports every bad variable at once', () => {
    const message = errorOf({ PORT: 'x', MAX_UPLOAD_BYTES: '-1' });
    assert.match(message, /PORT/);
    assert.match(message, /MAX_UPLOAD_BYTES/);
  });

  it('gives the hardening defaults: rate limits, WebSocket limits, no extra origins', () => {
    const c = parseConfig({});
    assert.equal(c.completeRateLimitPerMinute, 600);
    assert.equal(c.renewRateLimitPerMinute, 120);
    assert.equal(c.wsMaxConnectionsPerUser, 20);
    assert.equal(c.wsMaxSubscriptionsPerConnection, 20);
    assert.deepEqual(c.corsAllowedOrigins, []);
  });

  it('reads the hardening variables and normalises the allowed origins', () => {
    const c = parseConfig({
      COMPLETE_RATE_LIMIT_PER_MINUTE: '30',
      RENEW_RATE_LIMIT_PER_MINUTE: '10',
      WS_MAX_CONNECTIONS_PER_USER: '3',
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '4',
      CORS_ALLOWED_ORIGINS: ' https://App.Example.com/ , http://localhost:5173,https://x.example:443',
    });
    assert.equal(c.completeRateLimitPerMinute, 30);
    assert.equal(c.renewRateLimitPerMinute, 10);
    assert.equal(c.wsMaxConnectionsPerUser, 3);
    assert.equal(c.wsMaxSubscriptionsPerConnection, 4);
    assert.deepEqual(c.corsAllowedOrigins, ['https://app.example.com', 'http://localhost:5173', 'https://x.example']);
  });

  it('refuses allowed origins with a path, query, credentials, a wildcard or another scheme', () => {
    for (const bad of ['https://a.example/app', 'https://a.example?x=1', 'https://u:p@a.example', '*', 'a.example', 'ftp://a.example', 'https://*.example']) {
      assert.match(errorOf({ CORS_ALLOWED_ORIGINS: bad }), /CORS_ALLOWED_ORIGINS=.*expected comma-separated origins/, bad);
    }
    assert.match(errorOf({ WS_MAX_CONNECTIONS_PER_USER: '0' }), /WS_MAX_CONNECTIONS_PER_USER="0": expected at least 1/);
  });

  it('refuses production without AUTH_JWT_SECRET or AUTH_JWKS_URL', () => {
    assert.match(errorOf({ NODE_ENV: 'production' }), /AUTH_JWT_SECRET or AUTH_JWKS_URL: required when NODE_ENV=production/);
    assert.equal(parseConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json' }).authJwtSecret, null);
  });

  it('uses the development secret only with embedded PostgreSQL and S3 on a loopback HOST, whatever NODE_ENV says otherwise', () => {
    for (const host of [undefined, '127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
      assert.equal(parseConfig(host ? { HOST: host } : {}).authDevelopmentSecret, true, String(host));
    }
    const refusals: [Record<string, string>, RegExp][] = [
      [{ DATABASE_URL: 'postgres://db/audio' }, /required when DATABASE_URL or S3_ENDPOINT is set/],
      [{ S3_ENDPOINT: 'http://minio:9000' }, /required when DATABASE_URL or S3_ENDPOINT is set/],
      [{ HOST: '0.0.0.0' }, /required when HOST=0\.0\.0\.0 is not a loopback address/],
      [{ HOST: '192.168.1.10' }, /required when HOST=192\.168\.1\.10 is not a loopback address/],
      [{ HOST: '::' }, /not a loopback address/],
      [{ NODE_ENV: 'test', DATABASE_URL: 'postgres://db/audio', S3_ENDPOINT: 'http://minio:9000' }, /AUTH_JWT_SECRET or AUTH_JWKS_URL: required/],
    ];
    for (const [env, message] of refusals) assert.match(errorOf(env), message, JSON.stringify(env));
    // With a real way to verify tokens, the development secret is never used.
    const configured = parseConfig({ AUTH_JWT_SECRET: 'x'.repeat(32) });
    assert.equal(configured.authDevelopmentSecret, false);
    assert.equal(parseConfig({ AUTH_JWKS_URL: 'https://id.example/jwks.json' }).authDevelopmentSecret, false);
  });

  it('lets a worker-only process start without AUTH_JWT_SECRET: it verifies no tokens', () => {
    const env = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/audio', S3_ENDPOINT: 'http://minio:9000' } as const;
    const c = parseConfig(env, '/srv', { role: 'worker' });
    assert.equal(c.authJwtSecret, null);
    assert.equal(c.authDevelopmentSecret, false);
    assert.match(errorOf(env), /AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    assert.throws(() => parseConfig(env, '/srv', { role: 'api' }), /AUTH_JWT_SECRET or AUTH_JWKS_URL/);
  });

  it('reads the identity-provider and metrics settings, with their defaults', () => {
    const defaults = parseConfig({});
    assert.deepEqual(
      [defaults.authJwksUrl, defaults.authIssuer, defaults.authAudience, defaults.authOwnerClaim, defaults.authClockToleranceSeconds, defaults.metricsPort, defaults.metricsToken],
      [null, null, null, 'sub', 5, null, null],
    );
    const c = parseConfig({
      AUTH_JWKS_URL: 'https://tenant.eu.auth0.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://tenant.eu.auth0.com/',
      AUTH_AUDIENCE: 'https://audio.example.com',
      AUTH_OWNER_CLAIM: 'https://example.com/user_id',
      AUTH_CLOCK_TOLERANCE_SECONDS: '10',
      AUTH_JWKS_COOLDOWN_SECONDS: '5',
      METRICS_PORT: '9464',
      METRICS_TOKEN: 'm'.repeat(20),
    });
    assert.equal(c.authJwksUrl, 'https://tenant.eu.auth0.com/.well-known/jwks.json');
    assert.equal(c.authIssuer, 'https://tenant.eu.auth0.com/');
    assert.equal(c.authAudience, 'https://audio.example.com');
    assert.equal(c.authOwnerClaim, 'https://example.com/user_id');
    assert.equal(c.authClockToleranceSeconds, 10);
    assert.equal(c.authJwksCooldownSeconds, 5);
    assert.equal(defaults.authJwksCooldownSeconds, 30);
    assert.equal(c.metricsPort, 9464);
    assert.equal(describeConfig(c).metricsToken, '***');
    assert.match(errorOf({ AUTH_JWKS_URL: 'file:///etc/jwks.json' }), /AUTH_JWKS_URL=.*expected the http\(s\):\/\/ URL of a JSON Web Key Set/);
    assert.match(errorOf({ AUTH_CLOCK_TOLERANCE_SECONDS: '3600' }), /AUTH_CLOCK_TOLERANCE_SECONDS="3600": expected at most 300/);
    assert.match(errorOf({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    assert.match(errorOf({ METRICS_PORT: '4000' }), /METRICS_PORT=4000: must differ from PORT/);
  });

  it('refuses half a pair of S3 credentials and a short JWT secret', () => {
    assert.match(errorOf({ S3_ACCESS_KEY_ID: 'k' }), /set both or neither/);
    assert.match(errorOf({ AUTH_JWT_SECRET: 'short' }), /AUTH_JWT_SECRET/);
  });

  it('masks secrets when describing the configuration', () => {
    const c = parseConfig({
      AUTH_JWT_SECRET: 'y'.repeat(40),
      S3_ENDPOINT: 'http://s3:9000',
      S3_ACCESS_KEY_ID: 'AKIA',
      S3_SECRET_ACCESS_KEY: 'very-secret',
      DATABASE_URL: 'postgres://app:pa55word@db/audio',
    });
    const text = JSON.stringify(describeConfig(c));
    assert.ok(!text.includes('very-secret') && !text.includes('pa55word') && !text.includes('y'.repeat(40)), text);
    assert.match(text, /postgres:\/\/app:\*\*\*@db\/audio/);
  });

  it('never throws anything but a ConfigError, whatever the environment holds', () => {
    const value = fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('', ' ', 'true', '-1', '1e9', 'http://x'));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...CONFIG_VARIABLES), value), (env) => {
        try {
          const c = parseConfig(env);
          assert.ok(c.port >= 0 && c.port <= 65535);
          assert.ok(c.maxUploadBytes > 0 && c.multipartPartBytes >= 5 * 1024 * 1024);
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});
