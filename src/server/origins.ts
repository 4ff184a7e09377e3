// Which browser origins may talk to /graphql. Apollo's CSRF prevention stops
// "simple" cross-site requests; this adds an explicit allow-list that also
// covers WebSocket upgrades, which neither CORS nor Apollo checks (a page on
// any site may open a WebSocket to us: cross-site WebSocket hijacking).
import type express from 'express';

export interface OriginPolicy {
  /** Exact origins (scheme://host[:port]) allowed besides the service's own. */
  allowed: readonly string[];
  /** Development: any http(s)://localhost|127.0.0.1|[::1] origin, whatever the port. */
  allowLocalhost: boolean;
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Pure decision. No Origin header: not a browser (curl, server-side clients,
 * the CLI), nothing to protect against, allowed. "null" (sandboxed frames,
 * file://) never. Same origin = the Origin's host:port is the Host the
 * request was sent to: behind a TLS-terminating proxy the scheme differs, the
 * host does not, and a cross-site page cannot make a browser lie about either.
 */
export function isOriginAllowed(origin: string | undefined, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  if (policy.allowed.includes(url.origin)) return true;
  return policy.allowLocalhost && LOCAL_HOSTNAMES.has(url.hostname);
}

const PREFLIGHT_HEADERS = 'content-type, authorization, apollo-require-preflight, x-apollo-operation-name';

/**
 * Express middleware for /graphql: a request from a browser origin that is
 * not allowed is refused with 403 before Apollo sees it; an allowed one gets
 * CORS headers (no credentials: auth is a bearer token, never a cookie).
 */
export function originGuard(policy: OriginPolicy): express.RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!isOriginAllowed(origin, req.headers.host, policy)) {
      res.status(403).json({ errors: [{ message: 'origin not allowed', extensions: { code: 'FORBIDDEN_ORIGIN' } }] });
      return;
    }
    if (origin !== undefined) {
      res.vary('Origin');
      res.setHeader('Access-Control-Allow-Origin', origin);
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', PREFLIGHT_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
