import type express from 'express';
import type { Auth } from '../auth/jwt.js';
import { isLoopbackHost } from '../config/auth.js';

/** The hostname of a Host header ("127.0.0.1:4000", "[::1]:4000", "localhost"), or null. */
export function hostnameOf(host: string | undefined): string | null {
  if (!host) return null;
  const m = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(host.trim());
  return m ? m[1]! : null;
}

/**
 * Development only (mounted when config.ts allowed the development secret:
 * embedded PostgreSQL and S3 on a loopback HOST): hands out a token for the
 * development secret so the web app and the explorer work with no setup.
 * Only to requests addressed to a loopback name: a web page that rebinds its
 * own DNS name to 127.0.0.1 sends its own name as Host, and gets nothing.
 */
export function devRoutes(auth: Auth) {
  return (app: express.Express) => {
    app.get('/dev/token', async (req, res) => {
      const hostname = hostnameOf(req.headers.host);
      if (hostname === null || !isLoopbackHost(hostname)) {
        res.status(403).json({ error: 'development tokens are handed only to requests addressed to localhost, 127.0.0.1 or [::1]' });
        return;
      }
      const sub = typeof req.query['sub'] === 'string' && req.query['sub'] ? req.query['sub'].slice(0, 100) : 'dev-user';
      res.set('cache-control', 'no-store').json({ token: await auth.sign(sub), sub });
    });
  };
}
