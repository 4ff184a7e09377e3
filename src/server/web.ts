import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

export interface WebOptions {
  /** Serve the GraphQL explorer to browsers at GET /graphql. */
  explorer: boolean;
  production: boolean;
}

// Vite's output (web/vite.config.ts): dist/src/server/web.js -> dist/web/.
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

// Both pages load only same-origin code (no CDN: the explorer must work with
// no internet). Uploads and playback go to the storage's presigned URLs, an
// origin we do not know here, hence http(s) for connect/media.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss: http: https:",
  "media-src 'self' blob: http: https:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The web app at `/` and, when `explorer` is on, GraphiQL at GET /graphql for
 * browsers (Accept prefers text/html). Mounted before Apollo: everything else
 * on /graphql (POST, GET with a query, JSON clients) goes on to it. Only `/`
 * and `/assets/*` are claimed, so /graphql, /healthz, /dev/token and /metrics
 * stay where they are.
 */
export function webRoutes(o: WebOptions) {
  const page = htmlPages(o);
  return (app: express.Express) => {
    if (o.explorer) {
      app.get('/graphql', (req, res, next) => {
        // Browsers ask for text/html first; fetch() and GraphQL clients do not.
        if (req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) !== 'text/html') return next();
        void page(res, 'explorer.html');
      });
    }
    // Vite puts a content hash in every asset name: cache them for good.
    app.use('/assets', express.static(join(WEB_DIR, 'assets'), { immutable: true, maxAge: '365d', index: false }));
    app.get(['/', '/index.html'], (_req, res) => void page(res, 'index.html'));
  };
}

/** Sends a built page (read once in production), or says how to build it. */
function htmlPages(o: WebOptions) {
  const cache = new Map<string, Promise<string>>();
  const load = (name: string) => {
    const text = readFile(join(WEB_DIR, name), 'utf8').then((html) =>
      // Lets the app show its explorer link only where there is an explorer.
      o.explorer ? html.replace('<head>', '<head>\n    <meta name="graphql-explorer" content="/graphql" />') : html,
    );
    // In development `vite build` may run again under a live server: read every time.
    // A failed read is never kept (the web app may be built later).
    if (o.production) {
      cache.set(name, text);
      text.catch(() => cache.delete(name));
    }
    return text;
  };
  return async (res: express.Response, name: string) => {
    try {
      const html = await (cache.get(name) ?? load(name));
      res
        .set({
          'Content-Type': 'text/html; charset=utf-8',
          // The page names the current hashed assets: always revalidate it.
          'Cache-Control': 'no-cache',
          'Content-Security-Policy': CSP,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
        })
        .send(html);
    } catch {
      res.status(503).type('text/plain').send(`The web app is not built (${name} is missing in ${WEB_DIR}): run \`npm run build\`.\n`);
    }
  };
}
