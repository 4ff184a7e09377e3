// Who may read /metrics (contract: Endpoints): never anonymous requests on
// the public port. Either a separate listener (METRICS_PORT, on HOST, for a
// scraper on a private network) or `Authorization: Bearer <METRICS_TOKEN>`.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Metrics } from '../metrics/metrics.js';
import type { RunningHttp } from './http.js';
import { listen } from './listen.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Pure: does this Authorization header carry the metrics token? (Equal-length digests: no timing leak.) */
export function isMetricsAuthorized(header: string | undefined, token: string | null): boolean {
  if (!token || !header) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * GET /metrics: with `token`, only for requests that carry it (404 otherwise,
 * as if there were no such path); with `token: 'open'`, for everyone (the
 * separate metrics listener).
 */
export function serveMetrics(metrics: Metrics, token: string | null | 'open') {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (token !== 'open' && !isMetricsAuthorized(req.headers.authorization, token)) {
      return send(req, res, 404, 'text/plain', 'not found\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(req, res, 405, 'text/plain', 'method not allowed\n');
    metrics.text().then(
      (text) => send(req, res, 200, 'text/plain; version=0.0.4', text),
      () => send(req, res, 500, 'text/plain', 'metrics unavailable\n'),
    );
  };
}

/** The METRICS_PORT listener: /metrics and nothing else. */
export async function startMetricsListener(host: string, port: number, metrics: Metrics): Promise<RunningHttp> {
  const handler = serveMetrics(metrics, 'open');
  const server = http.createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return send(req, res, 404, 'text/plain', 'not found\n');
    handler(req, res);
  });
  const bound = await listen(server, host, port);
  return {
    server,
    ...bound,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
