import type { Request, Response } from 'express';

export type HealthCheck = () => Promise<void>;

/** 200 when every dependency answers within the timeout, else 503 naming what failed. */
export function healthHandler(checks: Record<string, HealthCheck>, timeoutMs = 2000) {
  return async (_req: Request, res: Response) => {
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
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  };
}
