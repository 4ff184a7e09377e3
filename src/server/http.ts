import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Auth } from '../auth/jwt.js';
import type { Logger } from '../log.js';
import type { GraphQLContext } from '../schema/context.js';
import { makeFormatError } from './errors.js';
import { attachGraphQLWs } from './graphql-ws.js';
import { type HealthCheck, healthHandler } from './health.js';

export interface HttpOptions {
  host: string;
  port: number;
  production: boolean;
  explorer: boolean;
  /** null: a probe-only node (worker role): /healthz and nothing else. */
  graphql: {
    schema: GraphQLSchema;
    auth: Auth;
    baseContext: Omit<GraphQLContext, 'viewer' | 'authError'>;
  } | null;
  health: Record<string, HealthCheck>;
  log: Logger;
  /** Extra routes (development token, web app) mounted before /graphql. */
  extraRoutes?: (app: express.Express) => void;
}

export interface RunningHttp {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = '1mb';

export async function startHttp(o: HttpOptions): Promise<RunningHttp> {
  const app = express();
  app.disable('x-powered-by');
  const server = http.createServer(app);
  app.get('/healthz', healthHandler(o.health));

  let closeWs = async () => {};
  let apollo: ApolloServer<GraphQLContext> | null = null;
  if (o.graphql) {
    const g = o.graphql;
    const ws = attachGraphQLWs({
      httpServer: server,
      path: '/graphql',
      schema: g.schema,
      auth: g.auth,
      baseContext: g.baseContext,
      maxPayloadBytes: 1024 * 1024,
    });
    closeWs = () => ws.close();
    apollo = new ApolloServer<GraphQLContext>({
      schema: g.schema,
      introspection: o.explorer,
      allowBatchedHttpRequests: false,
      csrfPrevention: true,
      includeStacktraceInErrorResponses: !o.production,
      formatError: makeFormatError({
        production: o.production,
        onUnexpected: (e) => o.log.error({ err: e }, 'unexpected error in a GraphQL operation'),
      }),
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer: server }),
        // The explorer is our bundled GraphiQL (server/web.ts); Apollo's loads from a CDN.
        ApolloServerPluginLandingPageDisabled(),
      ],
    });
    await apollo.start();
    o.extraRoutes?.(app);
    app.use(
      '/graphql',
      express.json({ limit: MAX_BODY }),
      expressMiddleware(apollo, {
        context: async ({ req }): Promise<GraphQLContext> => {
          const header = req.headers.authorization;
          if (!header) return { ...g.baseContext, viewer: null, authError: null };
          try {
            return { ...g.baseContext, viewer: await g.auth.verifyAuthorization(header), authError: null };
          } catch (e) {
            return { ...g.baseContext, viewer: null, authError: e as Error };
          }
        },
      }),
    );
  }
  // Body-size refusals and other express errors: a JSON answer, never a stack.
  app.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = err.status ?? 500;
    res.status(status).json({
      errors: [{ message: status === 413 ? 'request body too large' : 'bad request', extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' } }],
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  return {
    server,
    port,
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    async close() {
      await closeWs();
      if (apollo) await apollo.stop();
      else await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
