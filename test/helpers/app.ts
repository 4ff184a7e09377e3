// Starts the real service in-process against a fresh database and bucket,
// and talks to it the way clients do: GraphQL over HTTP, graphql-ws, and
// presigned PUTs straight to the S3 server.
import 'reflect-metadata';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { type RunningApp, type Role, startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { type TestDatabase, type TestS3, testDatabase, testS3 } from './services.js';

export interface TestApp {
  app: RunningApp;
  db: TestDatabase;
  s3: TestS3;
  tmpDir: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResponse<T>>;
  token(sub?: string): Promise<string>;
  ws(token: string | null): Client;
  stop(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data: T | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface TestAppOptions {
  env?: Record<string, string>;
  role?: Role;
  /** Shared with other processes of the test; then not stopped by this app. */
  db?: TestDatabase;
  s3?: TestS3;
  tmpDir?: string;
  /**
   * Development auth as `npm start` has it on embedded servers (the public
   * development secret and /dev/token), though this app runs on the test's
   * database and bucket: config.ts allows it from the environment only with
   * embedded PostgreSQL and S3.
   */
  developmentAuth?: boolean;
  /** The app's logger (default: one at LOG_LEVEL); a test that reads log lines passes its own. */
  logger?: Logger;
}

/** The env a process of the service needs to join this test's database and bucket. */
export function serviceEnv(db: TestDatabase, s3: TestS3, tmpDir: string): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    TMPDIR: tmpDir,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    METRICS_TOKEN: TEST_METRICS_TOKEN,
  };
}

export const TEST_JWT_SECRET = 'test-secret-of-at-least-thirty-two-characters!';
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';
/** Headers that unlock /metrics on the public port. */
export const METRICS_HEADERS = { authorization: `Bearer ${TEST_METRICS_TOKEN}` };

/** One series of the app's metrics (0 while it has no sample), e.g. `audio_jobs_total{outcome="retry",code=""}`. */
export async function metricValue(t: TestApp, series: string): Promise<number> {
  const text = await (await fetch(`${t.app.url}/metrics`, { headers: METRICS_HEADERS })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.db ?? (await testDatabase());
  const s3 = options.s3 ?? (await testS3());
  const tmpDir = options.tmpDir ?? (await mkdtemp(path.join(tmpdir(), 'audio-test-tmp-')));
  const parsed = parseConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      ...serviceEnv(db, s3, tmpDir),
      WORKER_CONCURRENCY: '2',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...options.env,
    },
    process.cwd(),
    { role: options.role ?? 'all' },
  );
  const config = options.developmentAuth ? { ...parsed, authJwtSecret: null, authDevelopmentSecret: true } : parsed;
  const app = await startApp(config, options.role ?? 'all', options.logger ?? createLogger(config.logLevel));
  const defaultToken = await app.auth.sign('user-a');
  const sockets: Client[] = [];
  return {
    app,
    db,
    s3,
    tmpDir,
    token: (sub = 'user-a') => app.auth.sign(sub),
    async gql(query, variables = {}, token = defaultToken) {
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: GqlResponse<unknown>['errors'] };
      return { status: res.status, data: (body.data ?? null) as never, ...(body.errors ? { errors: body.errors } : {}) };
    },
    ws(token) {
      const client = createClient({
        url: `${app.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      sockets.push(client);
      return client;
    },
    async stop() {
      for (const s of sockets) await s.dispose();
      await app.stop({ graceMs: 2000 });
      if (!options.s3) await s3.stop();
      if (!options.db) await db.drop();
      if (!options.tmpDir) await rm(tmpDir, { recursive: true, force: true });
    },
  };
}

/**
 * startTestApp, plus a temp dir (named from `prefix`) for the files the tests
 * make, which the returned app's stop() removes too. Not the app's tmpDir:
 * that is the worker's TMPDIR, which must hold nothing after a job.
 */
export async function startTestAppWithDir(prefix: string, options: TestAppOptions = {}): Promise<{ t: TestApp; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let t: TestApp;
  try {
    t = await startTestApp(options);
  } catch (err) {
    await removeDir(); // no app, so no stop() will
    throw err;
  }
  const stop = async () => {
    try {
      await t.stop();
    } finally {
      await removeDir();
    }
  };
  return { t: { ...t, stop }, dir };
}

/**
 * Reads until `done(value)` or the time is up and returns the last value. For
 * what an SQL update in a test changes: the API caches finished assets until
 * the update's NOTIFY reaches it, which a loaded machine can delay.
 */
export async function readUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  for (const until = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 50))) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
  }
}

/** Collects a subscription's events until `until` says stop (or the timeout passes). */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  until: (event: T, all: T[]) => boolean,
  timeoutMs = 20_000,
): { ready: Promise<void>; done: Promise<T[]> } {
  const events: T[] = [];
  let markReady: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const done = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms with ${events.length} events: ${JSON.stringify(events).slice(0, 2000)}`));
    }, timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) {
            clearTimeout(timer);
            unsubscribe();
            return reject(new Error(JSON.stringify(v.errors)));
          }
          const e = v.data as T;
          events.push(e);
          if (until(e, events)) {
            clearTimeout(timer);
            unsubscribe();
            resolve(events);
          }
        },
        error: (err) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve(events);
        },
      },
    );
    // graphql-ws has no "subscribed" ack: the subscribe message is sent right
    // after connection_ack, so wait for the socket to be acknowledged.
    client.on('connected', () => setTimeout(() => markReady(), 50));
  });
  return { ready, done };
}

export const PREPARE = /* GraphQL */ `
  mutation Prepare($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) {
      asset { id status filename size contentType }
      uploadUrl
      uploadHeaders { name value }
      multipart { partSize }
      expiresAt
    }
  }`;

export const COMPLETE = /* GraphQL */ `
  mutation Complete($id: ID!) {
    completeAudioUpload(input: { id: $id }) { id status error { code message } }
  }`;

export const ASSET = /* GraphQL */ `
  query Asset($id: ID!, $bars: Int) {
    asset(id: $id) { id status detectedType progress url duration waveform(bars: $bars) error { code message } }
  }`;

/** prepare + PUT the bytes to the presigned URL (as a client would), without completing. */
export async function prepareAndPut(
  t: TestApp,
  file: string | Buffer,
  declared: { filename?: string; contentType?: string; size?: number } = {},
  token?: string,
): Promise<string> {
  const body = typeof file === 'string' ? await readFile(file) : file;
  const prepared = await t.gql(
    PREPARE,
    {
      input: {
        filename: declared.filename ?? (typeof file === 'string' ? path.basename(file) : 'upload.mp3'),
        size: declared.size ?? body.length,
        contentType: declared.contentType ?? 'audio/mpeg',
      },
    },
    token,
  );
  if (prepared.errors) throw new Error(JSON.stringify(prepared.errors));
  const p = (prepared.data as any).prepareAudioUpload;
  const headers = Object.fromEntries(p.uploadHeaders.map((h: { name: string; value: string }) => [h.name, h.value]));
  const put = await fetch(p.uploadUrl, { method: 'PUT', headers, body });
  if (!put.ok) throw new Error(`PUT failed: ${put.status} ${await put.text()}`);
  return p.asset.id as string;
}

/** Polls the asset until it is DONE or FAILED, and returns it then. */
export async function waitForEnd(t: TestApp, id: string, timeoutMs = 60_000): Promise<any> {
  for (const end = Date.now() + timeoutMs; ; ) {
    const asset = (await t.gql(ASSET, { id })).data?.asset;
    if (asset?.status === 'DONE' || asset?.status === 'FAILED') return asset;
    if (Date.now() > end) throw new Error(`asset ${id} did not end within ${timeoutMs} ms: ${JSON.stringify(asset)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Files left in the worker's TMPDIR (must be none after every job). */
export async function leftoverTmp(t: TestApp): Promise<string[]> {
  return readdir(t.tmpDir);
}
