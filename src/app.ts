import 'reflect-metadata';
import type pg from 'pg';
import { type Auth, createAuth } from './auth/jwt.js';
import type { Config } from './config/config.js';
import { AssetRepository } from './db/asset.repository.js';
import { openOrm, type Orm } from './db/orm.js';
import { createPool } from './db/pool.js';
import { FairnessStatsRepository } from './db/fairness-stats.repository.js';
import { startQueue } from './jobs/queue.js';
import { Metrics } from './metrics/metrics.js';
import type { RunningWorker } from './jobs/worker.js';
import type { RunningHttp } from './server/http.js';
import type { Logger } from './log.js';
import { resolveInfrastructure } from './infra.js';
import { Storage } from './storage/s3.js';

export type Role = 'api' | 'worker' | 'all';

export interface RunningApp {
  url: string;
  port: number;
  auth: Auth;
  storage: Storage;
  databaseUrl: string;
  /** Runs the sweep now (worker roles only; operations and tests); `full` adds the daily listing. */
  sweep(options?: { full?: boolean }): Promise<import('./services/sweep.service.js').SweepResult>;
  /** Runs one batch of the backfill (loudness, waveform levels of older assets) now (worker roles only; tests). */
  backfill(): Promise<import('./services/backfill.service.js').BackfillResult>;
  /** Resolves once the app has stopped. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Browsers upload from the app's origin straight to the bucket: merge the
 * app's CORS rules into the operator's (the embedded server is set up with
 * its own). Never fails start-up: a refusal is logged with the rule to add.
 */
async function ensureAppCors(config: Config, storage: Storage, port: number, log: Logger): Promise<void> {
  const { appOrigins, ensureBucketCors } = await import('./storage/bucket-cors.js');
  const origins = appOrigins({ host: config.host, port, extra: config.corsAllowedOrigins, allowLocalhost: config.nodeEnv !== 'production' });
  await ensureBucketCors(storage.client, storage.bucket, origins, log);
}

/** Starts the roles of one process over PostgreSQL and S3; `stop` undoes it in reverse. */
export async function startApp(config: Config, role: Role, log: Logger): Promise<RunningApp> {
  const stops: (() => Promise<void>)[] = [];
  // Shutdown: stop taking jobs, close HTTP/WebSockets (1001 going away), give
  // running jobs `graceMs` to finish, then abort them (pg-boss retries them
  // on another worker), then close connections and embedded servers.
  let graceMs = 25_000;
  const stopAll = async (options: { graceMs?: number } = {}) => {
    graceMs = options.graceMs ?? graceMs;
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((e) => log.warn({ err: e }, 'error while stopping'));
    }
  };
  try {
    const infra = await resolveInfrastructure(config, log);
    stops.push(() => infra.stop());

    const orm: Orm = await openOrm(infra.databaseUrl, { poolMax: 4 });
    stops.push(() => orm.close());
    const pool: pg.Pool = createPool(infra.databaseUrl, 10);
    stops.push(() => pool.end());
    const storage = new Storage(infra.storage);
    const bucket = await storage.ensureBucket();
    if (bucket === 'created-without-lifecycle') log.warn('the storage took no lifecycle rule for the new bucket; the sweep alone removes abandoned uploads');
    stops.push(async () => storage.close());

    const runsWorker = role !== 'api';
    const queue = await startQueue({
      databaseUrl: infra.databaseUrl,
      supervise: runsWorker,
      jobTimeoutSeconds: config.jobTimeoutSeconds,
      // pg's errors carry the whole client object: log what helps, not 10 KB of it.
      onError: (e) => log.warn({ err: { message: e.message, code: (e as { code?: string }).code } }, 'queue error'),
    });
    let worker: RunningWorker | null = null;
    stops.push(() => queue.stop(graceMs));

    const assets = new AssetRepository(orm, pool);
    const fairnessStats = new FairnessStatsRepository(pool);
    const metrics = new Metrics({
      queueStats: () => queue.stats(),
      fairnessStats: () => fairnessStats.read(),
    });
    const auth = createAuth(config);

    const health = {
      database: () => assets.ping(),
      storage: () => storage.ping(),
      queue: () => queue.ping(),
    };

    // Each role loads only its own modules: a worker never imports the API
    // stack (Apollo, type-graphql, express: ~35 MB of RSS per process).
    if (config.metricsPort !== null) {
      const { startMetricsListener } = await import('./server/metrics-access.js');
      const listener = await startMetricsListener(config.host, config.metricsPort, metrics);
      stops.push(() => listener.close());
    }
    let http: RunningHttp;
    if (role !== 'worker') {
      const { startApiRole } = await import('./server/api-role.js');
      const api = await startApiRole({
        config, databaseUrl: infra.databaseUrl, assets, storage, pool, queue, auth, metrics, health, log,
      });
      http = api.http;
      stops.push(() => api.stop());
      // After listening: the app's origin includes the port (PORT=0 picks one).
      if (config.s3.endpoint) await ensureAppCors(config, storage, http.port, log);
    } else {
      const { startProbeHttp } = await import('./server/probe-http.js');
      const { cachedHealth } = await import('./server/health.js');
      http = await startProbeHttp({ host: config.host, port: config.port, health: cachedHealth({ checks: health }), metrics, metricsToken: config.metricsToken });
      stops.push(() => http.close());
    }

    if (runsWorker) {
      const { startWorker } = await import('./jobs/worker.js');
      worker = await startWorker({ queue, assets, storage, config, log, metrics, databaseUrl: infra.databaseUrl });
      // Stopped before the queue (pushed later, runs earlier): running jobs get their grace.
      stops.push(() => worker!.stop());
    }

    return {
      url: http.url,
      port: http.port,
      auth,
      storage,
      databaseUrl: infra.databaseUrl,
      sweep: (options = {}) => {
        if (!worker) return Promise.reject(new Error('the sweep runs in worker roles only'));
        return worker.sweep.run(log.child({ job: 'sweep' }), options);
      },
      backfill: () => {
        if (!worker) return Promise.reject(new Error('the backfill runs in worker roles only'));
        return worker.backfill.run(log.child({ job: 'backfill' }));
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
