import type express from 'express';
import type { Auth } from '../auth/jwt.js';

/**
 * Development only (never mounted with NODE_ENV=production or a configured
 * AUTH_JWT_SECRET): hands out a token for the development secret so the
 * web app and the explorer work with no setup.
 */
export function devRoutes(auth: Auth) {
  return (app: express.Express) => {
    app.get('/dev/token', async (req, res) => {
      const sub = typeof req.query['sub'] === 'string' && req.query['sub'] ? req.query['sub'].slice(0, 100) : 'dev-user';
      res.json({ token: await auth.sign(sub), sub });
    });
  };
}
