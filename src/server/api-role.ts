import type pg from 'pg';
import type { JobQueue } from '../jobs/queue.js';
import type { Auth } from '../auth/jwt.js';
import type { Config } from '../config/config.js';
import type { AssetRepository } from '../db/asset.repository.js';
import { AssetEvents } from '../events/asset-events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { buildAppSchema } from '../resolvers/index.js';
import { UsageRepository } from '../db/usage.repository.js';
import { AssetsService } from '../services/assets.service.js';
import { QuotaService } from '../services/quota.service.js';
import { RateLimitService } from '../services/rate-limit.service.js';
import { TerminalAssetCache } from '../services/terminal-asset-cache.js';
import { UploadsService } from '../services/uploads.service.js';
import type { Storage } from '../storage/s3.js';
import { devRoutes } from './dev-routes.js';
import { type HealthCheck, cachedHealth } from './health.js';
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
    watchKeySet(d.auth, d.metrics, log);
    d.metrics.live('audio_ws_subscriptions', 'Active assetUpdated subscriptions on this process', () => events.subscriberCount);
    const schema = await buildAppSchema();
    const quotas = new QuotaService(d.assets, new UsageRepository(d.pool), config.quotas);
    const baseContext = {
      assets: new AssetsService(d.assets, d.storage, config, finalAssets),
      uploads: new UploadsService(d.assets, d.storage, d.pool, d.queue, config, quotas),
      quotas,
      events,
      rateLimits: await RateLimitService.start(d.pool, {
        prepareAudioUpload: config.uploadRateLimitPerMinute,
        completeAudioUpload: config.completeRateLimitPerMinute,
        renewUploadUrls: config.renewRateLimitPerMinute,
        query: config.queryCostPerMinute,
      }),
    };
    const http = await startHttp({
      host: config.host,
      port: config.port,
      production: config.nodeEnv === 'production',
      explorer: config.graphqlExplorer,
      graphql: { schema, auth: d.auth, baseContext },
      security: httpSecurity(config),
      health: cachedHealth({
        checks: {
          ...d.health,
          events: async () => {
            if (!events.isListening) throw new Error('not listening');
          },
        },
        advisories: keySetAdvisory(d.auth),
      }),
      log,
      metrics: d.metrics,
      metricsToken: config.metricsToken,
      extraRoutes: (app) => {
        // Development tokens only where config.ts allowed the development secret.
        if (config.authDevelopmentSecret) devRoutes(d.auth)(app);
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

/**
 * The identity provider's keys, fetched at start-up without waiting for
 * them: an unreachable JWKS leaves the service up (HS256 and cached tokens
 * still work) and says so in the log, /metrics and /healthz (`degraded`).
 */
function watchKeySet(auth: Auth, metrics: Metrics, log: Logger): void {
  const keys = auth.keySet;
  if (!keys) return;
  metrics.live('audio_auth_jwks_available', '1 while the identity provider\'s keys could be fetched (AUTH_JWKS_URL), else 0', () => (keys.available ? 1 : 0));
  void keys.refresh().then((ok) => {
    if (!ok) log.warn({ url: keys.url }, "the identity provider's keys (AUTH_JWKS_URL) could not be fetched; tokens it signs are refused until they can be");
  });
}

/** /healthz's view of the keys; a health probe also retries a failed fetch, so the state recovers without traffic. */
function keySetAdvisory(auth: Auth): Record<string, () => boolean> {
  const keys = auth.keySet;
  if (!keys) return {};
  return {
    jwks: () => {
      if (!keys.available) void keys.refresh();
      return keys.available;
    },
  };
}
