import type pg from 'pg';
import type { JobQueue } from '../jobs/queue.js';
import type { Auth } from '../auth/jwt.js';
import type { Config } from '../config/config.js';
import type { AssetRepository } from '../db/asset.repository.js';
import { AssetEvents } from '../events/asset-events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { buildAppSchema } from '../resolvers/index.js';
import { AssetsService } from '../services/assets.service.js';
import { RateLimitService } from '../services/rate-limit.service.js';
import { TerminalAssetCache } from '../services/terminal-asset-cache.js';
import { UploadsService } from '../services/uploads.service.js';
import type { Storage } from '../storage/s3.js';
import { devRoutes } from './dev-routes.js';
import type { HealthCheck } from './health.js';
import { type RunningHttp, httpSecurity, startHttp } from './http.js';
import { webRoutes } from './web.js';

export interface ApiRoleDeps {
  config: Config;
  databaseUrl: string;
  assets: AssetRepository;
  storage: Storage;
  pool: pg.Pool;
  queue: JobQueue;
  auth: Auth;
  metrics: Metrics;
  health: Record<string, HealthCheck>;
  log: Logger;
}

export interface RunningApi {
  http: RunningHttp;
  stop(): Promise<void>;
}

/**
 * The API role: GraphQL over HTTP and graphql-ws, change events, the web app.
 * app.ts imports this module only for `--role api|all`, so worker processes
 * never load Apollo, type-graphql or express.
 */
export async function startApiRole(d: ApiRoleDeps): Promise<RunningApi> {
  const { config, log } = d;
  // DONE/FAILED assets in memory, kept exact by the same LISTEN connection the subscriptions use.
  const finalAssets = new TerminalAssetCache();
  const events = new AssetEvents({ databaseUrl: d.databaseUrl, log, observer: finalAssets });
  await events.start();
  try {
    d.metrics.live('audio_ws_subscriptions', 'Active assetUpdated subscriptions on this process', () => events.subscriberCount);
    const schema = await buildAppSchema();
    const baseContext = {
      assets: new AssetsService(d.assets, d.storage, config, finalAssets),
      uploads: new UploadsService(d.assets, d.storage, d.pool, d.queue, config),
      events,
      rateLimits: await RateLimitService.start(d.pool, {
        prepareAudioUpload: config.uploadRateLimitPerMinute,
        completeAudioUpload: config.completeRateLimitPerMinute,
        renewUploadUrls: config.renewRateLimitPerMinute,
      }),
    };
    const http = await startHttp({
      host: config.host,
      port: config.port,
      production: config.nodeEnv === 'production',
      explorer: config.graphqlExplorer,
      graphql: { schema, auth: d.auth, baseContext },
      security: httpSecurity(config),
      health: {
        ...d.health,
        events: async () => {
          if (!events.isListening) throw new Error('not listening');
        },
      },
      log,
      metrics: d.metrics,
      extraRoutes: (app) => {
        // Development tokens only where the development secret is in use.
        if (config.nodeEnv !== 'production' && !config.authJwtSecret) devRoutes(d.auth)(app);
        webRoutes({ explorer: config.graphqlExplorer, production: config.nodeEnv === 'production' })(app);
      },
    });
    return {
      http,
      async stop() {
        // Sockets first (1001 going away), then the LISTEN connection.
        await http.close();
        await events.stop();
      },
    };
  } catch (e) {
    await events.stop();
    throw e;
  }
}
