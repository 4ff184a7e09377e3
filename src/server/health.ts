import type { Request, Response } from 'express';

export type HealthCheck = () => Promise<void>;

export type HealthStatus = 'ok' | 'degraded' | 'unavailable';

export interface HealthReport {
  httpStatus: 200 | 503;
  /** Only the status: which dependency failed is for logs and metrics, not for anonymous callers. */
  body: { status: HealthStatus };
}

export interface HealthOptions {
  /** PostgreSQL, storage, queue (and the API's LISTEN connection): any failing one makes it 503. */
  checks: Record<string, HealthCheck>;
  /**
   * Things the service works without, in part (the identity provider's keys:
   * HS256 and already verified tokens still work): false reports `degraded`
   * with 200, so a load balancer keeps sending traffic that can be served.
   */
  advisories?: Record<string, () => boolean>;
  timeoutMs?: number;
  /** One probe serves every caller for this long (contract: about two seconds). */
  cacheMs?: number;
  now?: () => number;
}

/** Runs every check within the timeout: 503 if any fails, else 200 ok or degraded. */
export async function checkHealth(o: HealthOptions): Promise<HealthReport> {
  const timeoutMs = o.timeoutMs ?? 2000;
  const results = await Promise.all(
    Object.values(o.checks).map(async (check) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  if (!results.every(Boolean)) return { httpStatus: 503, body: { status: 'unavailable' } };
  const degraded = Object.values(o.advisories ?? {}).some((ok) => !ok());
  return { httpStatus: 200, body: { status: degraded ? 'degraded' : 'ok' } };
}

/**
 * /healthz results shared for `cacheMs` and one probe in flight at a time,
 * so a flood of health requests costs the backends one round of pings per
 * two seconds at most.
 */
export function cachedHealth(o: HealthOptions): () => Promise<HealthReport> {
  const cacheMs = o.cacheMs ?? 2000;
  const now = o.now ?? Date.now;
  let last: { report: HealthReport; at: number } | null = null;
  let pending: Promise<HealthReport> | null = null;
  return () => {
    if (last && now() - last.at < cacheMs) return Promise.resolve(last.report);
    pending ??= checkHealth(o)
      .then((report) => {
        last = { report, at: now() };
        return report;
      })
      .finally(() => (pending = null));
    return pending;
  };
}

/** /healthz for the express app of API nodes. */
export function healthHandler(health: () => Promise<HealthReport>) {
  return async (_req: Request, res: Response) => {
    const report = await health();
    res.status(report.httpStatus).set('cache-control', 'no-store').json(report.body);
  };
}
