import 'reflect-metadata';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { Auth, DEVELOPMENT_JWT_SECRET } from './auth/jwt.js';
import type { Config } from './config/config.js';
import { AssetRepository } from './db/asset.repository.js';
import { openOrm, type Orm } from './db/orm.js';
import { createPool } from './db/pool.js';
import { AssetEvents } from './events/asset-events.js';
import { PROCESS_AUDIO_QUEUE, startQueue } from './jobs/queue.js';
import { Metrics } from './metrics/metrics.js';
import { startWorker, type RunningWorker } from './jobs/worker.js';
import type { Logger } from './log.js';
import { resolveInfrastructure } from './infra.js';
import { buildAppSchema } from './resolvers/index.js';
import { type RunningHttp, httpSecurity, startHttp } from './server/http.js';
import { devRoutes } from './server/dev-routes.js';
import { webRoutes } from './server/web.js';
import { AssetsService } from './services/assets.service.js';
import { RateLimitService } from './services/rate-limit.service.js';
import { UploadsService } from './services/uploads.service.js';
import { Storage } from './storage/s3.js';

export type Role = 'api' | 'worker' | 'all';

export interface RunningApp {
  url: string;
  port: number;
  auth: Auth;
  storage: Storage;
  databaseUrl: string;
  /** Runs the sweep now (worker roles only; operations and tests). */
  sweep(): Promise<import('./services/sweep.service.js').SweepResult>;
  /** Resolves once the app has stopped. */
  stop(options?: { graceMs?: number }): Promise<void>;
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

    const orm: Orm = await openOrm(infra.databaseUrl);
    stops.push(() => orm.close());
    const pool: pg.Pool = createPool(infra.databaseUrl);
    stops.push(() => pool.end());
    const storage = new Storage(infra.storage);
    const bucket = await storage.ensureBucket();
    if (bucket === 'created-without-lifecycle') log.warn('the storage took no lifecycle rule for the new bucket; the sweep alone removes abandoned uploads');
    stops.push(async () => storage.close());

    const runsWorker = role !== 'api';
    const boss: PgBoss = await startQueue({
      databaseUrl: infra.databaseUrl,
      supervise: runsWorker,
      jobTimeoutSeconds: config.jobTimeoutSeconds,
      // pg's errors carry the whole client object: log what helps, not 10 KB of it.
      onError: (e) => log.warn({ err: { message: e.message, code: (e as { code?: string }).code } }, 'queue error'),
    });
    let worker: RunningWorker | null = null;
    stops.push(() => boss.stop({ graceful: true, timeout: graceMs }));

    const assets = new AssetRepository(orm);
    const metrics = new Metrics({
      queueStats: async () => {
        const r = await pool.query(
          `select count(*)::int as queued,
                  coalesce(extract(epoch from now() - min(created_on)), 0)::float as oldest
             from pgboss.job where name = $1 and state in ('created', 'retry')`,
          [PROCESS_AUDIO_QUEUE],
        );
        return { queued: r.rows[0].queued, oldestAgeSeconds: r.rows[0].oldest };
      },
    });
    const auth = new Auth(config.authJwtSecret ?? DEVELOPMENT_JWT_SECRET);

    const health = {
      database: () => assets.ping(),
      storage: () => storage.ping(),
      queue: async () => void (await pool.query('select 1 from pgboss.version limit 1')),
    };

    let events: AssetEvents | null = null;
    let http: RunningHttp;
    if (role !== 'worker') {
      events = new AssetEvents({ databaseUrl: infra.databaseUrl, log });
      await events.start();
      metrics.live('audio_ws_subscriptions', 'Active assetUpdated subscriptions on this process', () => events!.subscriberCount);
      stops.push(() => events!.stop());
      const schema = await buildAppSchema();
      const baseContext = {
        assets: new AssetsService(assets, storage, config),
        uploads: new UploadsService(assets, storage, pool, boss, config),
        events,
        rateLimits: await RateLimitService.start(pool, {
          prepareAudioUpload: config.uploadRateLimitPerMinute,
          completeAudioUpload: config.completeRateLimitPerMinute,
          renewUploadUrls: config.renewRateLimitPerMinute,
        }),
      };
      http = await startHttp({
        host: config.host,
        port: config.port,
        production: config.nodeEnv === 'production',
        explorer: config.graphqlExplorer,
        graphql: { schema, auth, baseContext },
        security: httpSecurity(config),
        health: {
          ...health,
          events: async () => {
            if (!events!.isListening) throw new Error('not listening');
          },
        },
        log,
        metrics,
        extraRoutes: (app) => {
          // Development tokens only where the development secret is in use.
          if (config.nodeEnv !== 'production' && !config.authJwtSecret) devRoutes(auth)(app);
          webRoutes({ explorer: config.graphqlExplorer, production: config.nodeEnv === 'production' })(app);
        },
      });
    } else {
      http = await startHttp({
        host: config.host,
        port: config.port,
        production: config.nodeEnv === 'production',
        explorer: false,
        graphql: null,
        health,
        log,
        metrics,
      });
    }
    stops.push(() => http.close());

    if (runsWorker) {
      worker = await startWorker({ boss, assets, storage, config, log, metrics, databaseUrl: infra.databaseUrl });
      // Stopped before the queue (pushed later, runs earlier): running jobs get their grace.
      stops.push(() => worker!.stop());
    }

    return {
      url: http.url,
      port: http.port,
      auth,
      storage,
      databaseUrl: infra.databaseUrl,
      sweep: () => {
        if (!worker) return Promise.reject(new Error('the sweep runs in worker roles only'));
        return worker.sweep.run(log.child({ job: 'sweep' }));
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
