import type { Server } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Auth } from '../auth/jwt.js';
import type { GraphQLContext } from '../schema/context.js';

export interface WsOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  auth: Auth;
  baseContext: Omit<GraphQLContext, 'viewer' | 'authError'>;
  maxPayloadBytes: number;
}

/**
 * graphql-ws on the same path and port as HTTP. The token travels in
 * connection_init's payload; a bad one closes the socket with 4403, and a
 * socket that never sends connection_init is closed after 10 s with 4408
 * (contract; the library's default is 3 s).
 */
export function attachGraphQLWs(o: WsOptions) {
  const wss = new WebSocketServer({ server: o.httpServer, path: o.path, maxPayload: o.maxPayloadBytes });
  const cleanup = useServer<Record<string, unknown>, { viewerId?: string }>(
    {
      schema: o.schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        try {
          const viewer = await o.auth.verifyAuthorization(typeof raw === 'string' ? raw : null);
          (ctx.extra as { viewer?: unknown }).viewer = viewer;
          return true;
        } catch {
          return false; // graphql-ws closes with CloseCode.Forbidden (4403)
        }
      },
      context: (ctx): GraphQLContext => ({
        ...o.baseContext,
        viewer: (ctx.extra as { viewer?: GraphQLContext['viewer'] }).viewer ?? null,
        authError: null,
      }),
    },
    wss,
  );
  return {
    wss,
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await cleanup.dispose();
    },
  };
}
