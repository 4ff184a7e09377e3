import http from 'node:http';
import type { Metrics } from '../metrics/metrics.js';
import type { RunningHttp } from './http.js';
import type { HealthReport } from './health.js';
import { listen } from './listen.js';
import { serveMetrics } from './metrics-access.js';

/**
 * The HTTP face of a worker-only process: /healthz and /metrics on plain
 * node:http. Kept apart from server/http.ts so that a worker never loads
 * express, Apollo or type-graphql (~35 MB of resident memory it never uses).
 */
export async function startProbeHttp(o: {
  host: string;
  port: number;
  health: () => Promise<HealthReport>;
  metrics?: Metrics;
  /** null: /metrics is not served on this port (METRICS_PORT may serve it). */
  metricsToken?: string | null;
}): Promise<RunningHttp> {
  const metrics = o.metrics && o.metricsToken ? serveMetrics(o.metrics, o.metricsToken) : null;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics' && metrics) return metrics(req, res);
    if (path !== '/healthz') return send(404, 'text/plain', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    o.health().then(
      (r) => send(r.httpStatus, 'application/json; charset=utf-8', JSON.stringify(r.body)),
      () => send(503, 'application/json; charset=utf-8', JSON.stringify({ status: 'unavailable' })),
    );
  });
  const { port, url } = await listen(server, o.host, o.port);
  return {
    server,
    port,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
