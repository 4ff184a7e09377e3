// What the bench runs the service on: a fresh database (on the machine's
// PostgreSQL, else an embedded one), an S3 server in its own process, and
// the service's own processes (`node dist/src/main.js --role ...`), each with
// its own PORT and TMPDIR. Everything is on 127.0.0.1, and everything this
// module starts is stopped by `stop()` or, if the bench dies, by the exit hook.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Auth } from '../../src/auth/jwt.js';
import { Storage } from '../../src/storage/s3.js';
import { freePort } from '../../src/embedded/free-port.js';
import { startEmbeddedPostgres } from '../../src/embedded/postgres.js';
import type { S3ChildMessage, S3RequestRecord } from './s3-server.js';

/** What README and docker-compose.yml give `--role worker` processes. */
export const WORKER_NODE_OPTIONS = '--max-semi-space-size=1';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const MAIN_JS = path.join(ROOT, 'dist/src/main.js');
export const WORK_DIR = path.join(ROOT, '.data/bench');
export const S3_KEY = 'S3RVER'; // s3rver's built-in account

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  url: string;
  where: string;
  drop(): Promise<void>;
}

/** A fresh database for this run, dropped by `drop()`. */
export async function benchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  let admin = adminUrl;
  let where = `machine PostgreSQL (${new URL(adminUrl).host})`;
  let stopEmbedded = async () => {};
  try {
    await withClient(admin, (c) => c.query('select 1'));
  } catch (e) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-pg-'));
    const embedded = await startEmbeddedPostgres({ dataDir, database: 'postgres', ephemeral: true });
    admin = embedded.url;
    where = `embedded PostgreSQL (${adminUrl} unreachable: ${(e as Error).message})`;
    stopEmbedded = async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  await withClient(admin, (c) => c.query(`create database ${c.escapeIdentifier(name)}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const version = await withClient(url.toString(), async (c) => (await c.query('show server_version')).rows[0].server_version as string);
  return {
    url: url.toString(),
    where: `${where}, PostgreSQL ${version}, database ${name}`,
    async drop() {
      await withClient(admin, (c) => c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`)).catch(() => {});
      await stopEmbedded();
    },
  };
}

export interface BenchS3 {
  endpoint: string;
  bucket: string;
  pid: number;
  /** Starts recording requests; `take` ends it and returns them. */
  record(): void;
  take(): Promise<S3RequestRecord[]>;
  stop(): Promise<void>;
}

/** The product's own storage client on the bench's S3 server (s3rver's built-in account). */
export function benchStorage(s3: Pick<BenchS3, 'endpoint' | 'bucket'>): Storage {
  return new Storage({
    endpoint: s3.endpoint, publicEndpoint: null, bucket: s3.bucket, region: 'us-east-1',
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, forcePathStyle: true,
  });
}

export async function startS3(): Promise<BenchS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'bench-s3-'));
  const bucket = 'bench-audio';
  const child = fork(path.join(import.meta.dirname, 's3-server.js'), [directory, bucket], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  live.add(child);
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`S3 server exited with ${code}`)));
    child.on('message', (m: S3ChildMessage) => {
      if (m.type === 'ready') resolve(m.endpoint);
    });
  });
  return {
    endpoint,
    bucket,
    pid: child.pid!,
    record: () => child.send({ type: 'record' }),
    take: () =>
      new Promise((resolve) => {
        const onMessage = (m: S3ChildMessage) => {
          if (m.type !== 'requests') return;
          child.off('message', onMessage);
          resolve(m.records);
        };
        child.on('message', onMessage);
        child.send({ type: 'take' });
      }),
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child, 5000);
      live.delete(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export type Role = 'api' | 'worker' | 'all';

export interface ServiceOptions {
  role: Role;
  name: string;
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  databaseUrl?: string;
}

export interface ServiceProcess {
  name: string;
  role: Role;
  pid: number;
  port: number;
  url: string;
  tmpDir: string;
  logFile: string;
  child: ChildProcess;
  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill9(): void;
  exited: Promise<void>;
}

/** Unlocks /metrics on the services' ports (it is not served to anonymous requests). */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';
export const BENCH_METRICS_HEADERS = { authorization: `Bearer ${BENCH_METRICS_TOKEN}` };

/** A worker's count of transcodes run as two processes, decoder | encoder (its /metrics). */
export async function pipelinedTranscodes(workerUrl: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`, { headers: BENCH_METRICS_HEADERS })).text();
  return Number(/^audio_transcodes_total\{processes="2"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

export interface ClusterOptions {
  adminUrl: string;
  jwtSecret: string;
  env?: Record<string, string>;
  /** The service entry point (a prototype's copy, see bench/prototypes.ts); default dist/src/main.js. */
  mainJs?: string;
}

/** One database and one S3 server, and the service processes started over them. */
export class Cluster {
  readonly auth: Auth;
  private readonly services = new Set<ServiceProcess>();

  private constructor(
    readonly db: BenchDatabase,
    readonly s3: BenchS3,
    private readonly o: ClusterOptions,
  ) {
    this.auth = new Auth(o.jwtSecret);
  }

  static async start(o: ClusterOptions): Promise<Cluster> {
    mkdirSync(path.join(WORK_DIR, 'logs'), { recursive: true });
    const db = await benchDatabase(o.adminUrl);
    try {
      const s3 = await startS3();
      return new Cluster(db, s3, o);
    } catch (e) {
      await db.drop();
      throw e;
    }
  }

  /** The environment a service process gets: only what it needs, nothing of the bench's own. */
  serviceEnv(port: number, tmpDir: string, extra: Record<string, string> = {}, databaseUrl = this.db.url): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      S3_ENDPOINT: this.s3.endpoint,
      S3_BUCKET: this.s3.bucket,
      S3_ACCESS_KEY_ID: S3_KEY,
      S3_SECRET_ACCESS_KEY: S3_KEY,
      AUTH_JWT_SECRET: this.o.jwtSecret,
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      LOG_LEVEL: 'warn',
      TMPDIR: tmpDir,
      DATA_DIR: tmpDir,
      ...this.o.env,
      ...extra,
    };
  }

  async startService(s: ServiceOptions): Promise<ServiceProcess> {
    const tmpDir = await mkdtemp(path.join(tmpdir(), `bench-${s.name}-`));
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const logFile = path.join(WORK_DIR, 'logs', `${s.name}.log`);
      const log = createWriteStream(logFile, { flags: attempt === 1 ? 'w' : 'a' });
      const child = spawn(process.execPath, [...(s.nodeArgs ?? []), this.o.mainJs ?? MAIN_JS, '--role', s.role], {
        cwd: ROOT,
        // Workers as README and docker-compose.yml start them (a small V8 young generation).
        env: this.serviceEnv(port, tmpDir, { ...(s.role === 'worker' ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}), ...s.env }, s.databaseUrl),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      live.add(child);
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const url = `http://127.0.0.1:${port}`;
      const svc: ServiceProcess = {
        name: s.name,
        role: s.role,
        pid: child.pid!,
        port,
        url,
        tmpDir,
        logFile,
        child,
        exited,
        kill9: () => child.kill('SIGKILL'),
        stop: async (graceMs = 15_000) => {
          child.kill('SIGTERM');
          if (!(await waitExit(child, graceMs))) {
            child.kill('SIGKILL');
            await waitExit(child, 5000);
          }
          live.delete(child);
          this.services.delete(svc);
          await rm(tmpDir, { recursive: true, force: true });
        },
      };
      try {
        await waitHealthy(url, child, 90_000);
        this.services.add(svc);
        return svc;
      } catch (e) {
        child.kill('SIGKILL');
        await waitExit(child, 5000);
        live.delete(child);
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).slice(-3000);
        if (attempt < 3 && /EADDRINUSE/.test(tail)) continue;
        await rm(tmpDir, { recursive: true, force: true });
        throw new Error(`${s.name} (${s.role}) did not become healthy: ${(e as Error).message}\n${tail}`);
      }
    }
  }

  /** Files left in a worker's TMPDIR (the service must leave none after a job). */
  leftoverTmp(svc: ServiceProcess): Promise<string[]> {
    return readdir(svc.tmpDir).catch(() => []);
  }

  query<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    return withClient(this.db.url, (c) => c.query<T>(text, values as unknown[]));
  }

  async stop(): Promise<void> {
    // API processes get a short grace: on SIGTERM they do not exit by themselves
    // (Apollo's own signal handler races main.ts's; see BENCHMARKS.md findings).
    for (const svc of [...this.services]) await svc.stop(svc.role === 'api' ? 3000 : 15_000).catch(() => {});
    await this.s3.stop().catch(() => {});
    await this.db.drop();
  }
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`no 200 from ${url}/healthz within ${timeoutMs} ms`);
}
