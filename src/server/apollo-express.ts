import { type ApolloServer, type ApolloServerPlugin, type BaseContext, type ContextFunction, HeaderMap } from '@apollo/server';
import type express from 'express';

/**
 * Apollo Server as an express handler: what @as-integrations/express5 does,
 * minus what cost CPU on every request and gave clients nothing (BENCHMARKS.md,
 * target 5): a legacy url.parse of the URL for its query string, and
 * express's res.send, which hashes every answer for an ETag that no GraphQL
 * client sends back. Needs express.json() before it.
 */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: ContextFunction<[{ req: express.Request; res: express.Response }], TContext>,
): express.RequestHandler {
  server.assertStarted('apolloHandler()');
  return async (req, res) => {
    if (!('body' in req)) {
      res.status(500).send('`req.body` is not set: express.json() must run before the GraphQL handler.');
      return;
    }
    const headers = new HeaderMap();
    for (const key in req.headers) {
      const value = req.headers[key];
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const q = req.url.indexOf('?');
    const hash = req.url.indexOf('#', q);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method.toUpperCase(),
        headers,
        search: q === -1 ? '' : req.url.slice(q, hash === -1 ? undefined : hash),
        body: req.body,
      },
      context: () => context({ req, res }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    // Incremental delivery (@defer/@stream): chunks as they come.
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/**
 * Every answer is per viewer and may hold presigned URLs: `Cache-Control:
 * no-store`, as Apollo's cache-control plugin concluded for a schema without
 * cache hints, without its per-field resolver wrapping.
 */
export function noStorePlugin(): ApolloServerPlugin {
  const hooks = {
    async willSendResponse({ response }: { response: { http: { headers: Map<string, string> } } }) {
      response.http.headers.set('cache-control', 'no-store');
    },
  };
  return {
    async requestDidStart() {
      return hooks;
    },
  };
}
