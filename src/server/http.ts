import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Auth } from '../auth/jwt.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { GraphQLContext } from '../schema/context.js';
import { apolloHandler, noStorePlugin } from './apollo-express.js';
import { makeFormatError } from './errors.js';
import { attachGraphQLWs } from './graphql-ws.js';
import { observabilityPlugin } from './observability.js';
import type { Metrics } from '../metrics/metrics.js';
import { type HealthReport, healthHandler } from './health.js';
import { serveMetrics } from './metrics-access.js';
import { GRAPHQL_LIMITS, complexityPlugin, depthLimitRule, documentSizeGuard } from './limits.js';
import { chargeQueryCost } from './query-budget.js';
import { listen } from './listen.js';
import { type OriginPolicy, originGuard } from './origins.js';

/** Who may call /graphql from a browser, and how much one socket or user may hold. */
export interface HttpSecurity {
  origins: OriginPolicy;
  wsMaxConnectionsPerUser: number;
  wsMaxSubscriptionsPerConnection: number;
}

export function httpSecurity(config: Config): HttpSecurity {
  return {
    origins: { allowed: config.corsAllowedOrigins, allowLocalhost: config.nodeEnv !== 'production' },
    wsMaxConnectionsPerUser: config.wsMaxConnectionsPerUser,
    wsMaxSubscriptionsPerConnection: config.wsMaxSubscriptionsPerConnection,
  };
}

/** Without configuration: same-origin browsers only. */
const STRICT: HttpSecurity = { origins: { allowed: [], allowLocalhost: false }, wsMaxConnectionsPerUser: 20, wsMaxSubscriptionsPerConnection: 20 };

export interface HttpOptions {
  host: string;
  port: number;
  production: boolean;
  explorer: boolean;
  graphql: {
    schema: GraphQLSchema;
    auth: Auth;
    baseContext: Omit<GraphQLContext, 'viewer' | 'authError'>;
  };
  /** /healthz (cached: server/health.ts). */
  health: () => Promise<HealthReport>;
  log: Logger;
  /** Extra routes (development token, web app) mounted before /graphql. */
  extraRoutes?: (app: express.Express) => void;
  security?: HttpSecurity;
  /** Served at /metrics to requests with `Bearer <metricsToken>` (a worker-only process: server/probe-http.ts). */
  metrics?: Metrics;
  /** null: /metrics is not served on this port. */
  metricsToken?: string | null;
}

export interface RunningHttp {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Contract: HTTP bodies over 1 MiB are refused; WebSocket messages too. */
const MAX_BODY = '1mb';
const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

export async function startHttp(o: HttpOptions): Promise<RunningHttp> {
  const app = express();
  app.disable('x-powered-by');
  const server = http.createServer(app);
  app.get('/healthz', healthHandler(o.health));
  const metrics = o.metrics;
  if (metrics && o.metricsToken) app.get('/metrics', serveMetrics(metrics, o.metricsToken));

  const g = o.graphql;
  const security = o.security ?? STRICT;
  const formatError = makeFormatError({
    production: o.production,
    onUnexpected: (e) => o.log.error({ err: e }, 'unexpected error in a GraphQL operation'),
  });
  const ws = attachGraphQLWs({
    httpServer: server,
    path: '/graphql',
    schema: g.schema,
    auth: g.auth,
    baseContext: g.baseContext,
    maxPayloadBytes: MAX_WS_MESSAGE_BYTES,
    origins: security.origins,
    maxConnectionsPerUser: security.wsMaxConnectionsPerUser,
    maxSubscriptionsPerConnection: security.wsMaxSubscriptionsPerConnection,
    introspection: o.explorer,
    production: o.production,
    formatError,
  });
  metrics?.live('audio_ws_connections', 'Open graphql-ws connections', () => ws.wss.clients.size);
  const apollo = new ApolloServer<GraphQLContext>({
    // main.ts owns SIGTERM/SIGINT (graceful shutdown in order); Apollo's own
    // handlers stopped the server first and left app.stop() hanging.
    stopOnTerminationSignals: false,
    schema: g.schema,
    introspection: o.explorer,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // Our clients never send hashes; APQ would only be a cache strangers can fill.
    persistedQueries: false,
    parseOptions: { maxTokens: GRAPHQL_LIMITS.maxTokens },
    validationRules: [depthLimitRule(GRAPHQL_LIMITS.maxDepth)],
    includeStacktraceInErrorResponses: !o.production,
    // No "Did you mean ...?" field suggestions where introspection is off.
    hideSchemaDetailsFromClientErrors: !o.explorer,
    formatError,
    plugins: [
      complexityPlugin<GraphQLContext>(g.schema, chargeQueryCost),
      observabilityPlugin(o.log, metrics ?? null),
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // The explorer is our bundled GraphiQL (server/web.ts); Apollo's loads from a CDN.
      ApolloServerPluginLandingPageDisabled(),
      // No @cacheControl hints in our schema: Apollo's default plugin only wrapped every
      // resolver to conclude `no-store` each time; noStorePlugin says so directly.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin(),
    ],
  });
  await apollo.start();
  o.extraRoutes?.(app);
  app.use(
    '/graphql',
    originGuard(security.origins),
    express.json({ limit: MAX_BODY }),
    documentSizeGuard(),
    apolloHandler(apollo, async ({ req }): Promise<GraphQLContext> => {
      const header = req.headers.authorization;
      if (!header) return { ...g.baseContext, viewer: null, authError: null };
      try {
        return { ...g.baseContext, viewer: await g.auth.verifyAuthorization(header), authError: null };
      } catch (e) {
        return { ...g.baseContext, viewer: null, authError: e as Error };
      }
    }),
  );
  // Body-size refusals and other express errors: a JSON answer, never a stack.
  app.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = err.status ?? 500;
    res.status(status).json({
      errors: [{ message: status === 413 ? 'request body too large' : 'bad request', extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' } }],
    });
  });

  const { port, url } = await listen(server, o.host, o.port);
  return {
    server,
    port,
    url,
    async close() {
      await ws.close();
      await apollo.stop();
    },
  };
}
