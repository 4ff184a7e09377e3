import type { Server } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Auth, Viewer } from '../auth/jwt.js';
import type { GraphQLContext } from '../schema/context.js';
import { type FormatError, formatWsErrors } from './errors.js';
import { prepareOperation } from './limits.js';
import { chargeQueryCost } from './query-budget.js';
import { type OriginPolicy, isOriginAllowed } from './origins.js';

export interface WsOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  auth: Auth;
  baseContext: Omit<GraphQLContext, 'viewer' | 'authError'>;
  maxPayloadBytes: number;
  origins: OriginPolicy;
  maxConnectionsPerUser: number;
  maxSubscriptionsPerConnection: number;
  introspection: boolean;
  production: boolean;
  formatError: FormatError;
}

/** What we keep per socket in ctx.extra, beside graphql-ws's own `socket` and `request`. */
interface Extra extends Record<PropertyKey, unknown> {
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
}
type SocketExtra = Partial<Extra> & { readonly socket: WebSocket };

// setTimeout's longest delay; a later expiry is re-armed when this one fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * graphql-ws on the same path and port as HTTP. The token travels in
 * connection_init's payload; a bad one closes the socket with 4403, and so
 * does the token's expiry (`exp`) on a socket that outlives it. A socket that
 * never sends connection_init is closed after 10 s with 4408 (contract; the
 * library's default is 3 s). Upgrades from origins that are not allowed are
 * refused with 403 before any WebSocket exists.
 */
export function attachGraphQLWs(o: WsOptions) {
  const wss = new WebSocketServer({
    server: o.httpServer,
    path: o.path,
    maxPayload: o.maxPayloadBytes,
    verifyClient: (info, done) => {
      if (isOriginAllowed(info.req.headers.origin, info.req.headers.host, o.origins)) done(true);
      else done(false, 403, 'Origin not allowed');
    },
  });
  const connectionsByUser = new Map<string, number>();
  const release = (extra: SocketExtra) => {
    clearTimeout(extra.expiryTimer);
    if (!extra.viewer) return;
    const n = (connectionsByUser.get(extra.viewer.id) ?? 1) - 1;
    if (n > 0) connectionsByUser.set(extra.viewer.id, n);
    else connectionsByUser.delete(extra.viewer.id);
    delete extra.viewer;
  };
  const closeAtExpiry = (extra: SocketExtra, untilMs: number) => {
    const delay = untilMs - Date.now();
    extra.expiryTimer = setTimeout(() => {
      if (delay > MAX_TIMER_MS) return closeAtExpiry(extra, untilMs);
      extra.socket.close(CloseCode.Forbidden, 'Forbidden: the token has expired');
    }, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
    extra.expiryTimer.unref();
  };

  const cleanup = useServer<Record<string, unknown>, Extra>(
    {
      schema: o.schema,
      connectionInitWaitTimeout: 10_000,
      // Close reasons of internal errors: never the error's message in production.
      isProd: o.production,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        let viewer: Viewer;
        try {
          viewer = await o.auth.verifyAuthorization(typeof raw === 'string' ? raw : null);
        } catch {
          return false; // graphql-ws closes with CloseCode.Forbidden (4403)
        }
        // Closed while the token was checked: onClose has run already, count nothing.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        const open = connectionsByUser.get(viewer.id) ?? 0;
        if (open >= o.maxConnectionsPerUser) {
          // 4429 is graphql-ws's "too many" code; its client does not retry it.
          ctx.extra.socket.close(CloseCode.TooManyInitialisationRequests, `Too many connections: at most ${o.maxConnectionsPerUser} per user`);
          return false;
        }
        connectionsByUser.set(viewer.id, open + 1);
        ctx.extra.viewer = viewer;
        // The moment HTTP starts refusing the token (exp + clock tolerance), the socket ends too.
        closeAtExpiry(ctx.extra, o.auth.validUntilMs(viewer));
        return true;
      },
      onClose: (ctx) => release(ctx.extra),
      onSubscribe: async (ctx, _id, payload) => {
        // The entry for this operation is already in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > o.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`Too many operations on this socket: at most ${o.maxSubscriptionsPerConnection} at once`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        let cost = 0;
        const prepared = prepareOperation(o.schema, payload, o.introspection, (c) => (cost = c));
        if (Array.isArray(prepared)) return prepared;
        try {
          await chargeQueryCost(cost, { viewer: ctx.extra.viewer ?? null, rateLimits: o.baseContext.rateLimits });
        } catch (e) {
          if (e instanceof GraphQLError) return [e];
          throw e;
        }
        return prepared;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatWsErrors(result.errors, o.formatError) } : undefined,
      onError: (_ctx, _id, _payload, errors) => formatWsErrors(errors, o.formatError),
      context: (ctx): GraphQLContext => ({
        ...o.baseContext,
        viewer: ctx.extra.viewer ?? null,
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
