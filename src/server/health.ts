import type { Request, Response } from 'express';

export type HealthCheck = () => Promise<void>;

export interface HealthReport {
  httpStatus: 200 | 503;
  body: { status: 'ok' | 'unavailable'; checks: Record<string, 'ok' | 'unavailable'> };
}

/** 200 when every dependency answers within the timeout, else 503 naming what failed. */
export async function checkHealth(checks: Record<string, HealthCheck>, timeoutMs = 2000): Promise<HealthReport> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
        ]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'unavailable'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const ok = results.every(([, r]) => r === 'ok');
  return { httpStatus: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) } };
}

/** /healthz for the express app of API nodes. */
export function healthHandler(checks: Record<string, HealthCheck>, timeoutMs = 2000) {
  return async (_req: Request, res: Response) => {
    const report = await checkHealth(checks, timeoutMs);
    res.status(report.httpStatus).json(report.body);
  };
}
