import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Lru } from '../cache/lru.js';
import { unauthenticated } from '../domain/errors.js';

/** Known to everyone who reads this file: only ever used outside production. */
export const DEVELOPMENT_JWT_SECRET = 'development-secret-do-not-use-in-production-0123456789';

/** Our tokens are ~200 characters; HTTP headers stop at 16 KiB anyway. */
export const MAX_AUTHORIZATION_CHARS = 8192;

export interface Viewer {
  /** The JWT's `sub`: owner of every asset it creates. */
  id: string;
  /** Token expiry (epoch seconds), so long-lived sockets can end with it. */
  expiresAt: number | null;
}

export interface AuthOptions {
  /** Verified tokens remembered (token -> viewer, until the token's `exp`); 0 turns the cache off. */
  cacheEntries?: number;
  /** The clock, in epoch milliseconds (tests move it). */
  now?: () => number;
}

/**
 * Clients send the same token with every request, and an HS256 verify costs
 * 60-100 µs of WebCrypto (BENCHMARKS.md, target 5). Longer tokens are
 * verified but not remembered, so the cache stays ~10k x 1 KiB at most.
 */
const MAX_CACHED_TOKEN_CHARS = 1024;
/** A token without `exp` is valid for ever anyway; it is re-verified now and then all the same. */
const NO_EXP_CACHE_MS = 10 * 60_000;

interface CachedViewer {
  viewer: Viewer;
  /** Epoch ms from which the entry must not be used. */
  validUntilMs: number;
}

export class Auth {
  private readonly key: Uint8Array;
  private readonly now: () => number;
  private readonly cache: Lru<string, CachedViewer> | null;

  constructor(secret: string, options: AuthOptions = {}) {
    this.key = new TextEncoder().encode(secret);
    this.now = options.now ?? Date.now;
    const entries = options.cacheEntries ?? 10_000;
    this.cache = entries > 0 ? new Lru(entries) : null;
  }

  /** Verifies an `Authorization` value ("Bearer <JWT>"); throws UNAUTHENTICATED. */
  async verifyAuthorization(header: string | undefined | null): Promise<Viewer> {
    // A WebSocket's connection_init may carry up to 1 MiB: no use decoding and hashing that.
    if (header && header.length > MAX_AUTHORIZATION_CHARS) throw unauthenticated('the token is invalid');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) throw unauthenticated();
    return this.verifyToken(m[1]!);
  }

  async verifyToken(token: string): Promise<Viewer> {
    const nowMs = this.now();
    const hit = this.cache?.get(token);
    if (hit) {
      if (nowMs < hit.validUntilMs) return hit.viewer;
      this.cache!.delete(token);
      // Only an expiry ends a cached entry early: re-verify the others (no exp: periodic re-check).
      if (hit.viewer.expiresAt !== null) throw unauthenticated('the token has expired');
    }
    const viewer = await this.verifyUncached(token, nowMs);
    if (this.cache && token.length <= MAX_CACHED_TOKEN_CHARS) {
      // jose refuses from the second `exp` on (exp <= now, whole seconds): the entry ends there too.
      const validUntilMs = viewer.expiresAt === null ? nowMs + NO_EXP_CACHE_MS : viewer.expiresAt * 1000;
      this.cache.set(token, { viewer, validUntilMs });
    }
    return viewer;
  }

  private async verifyUncached(token: string, nowMs: number): Promise<Viewer> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], currentDate: new Date(nowMs) });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 200) {
        throw unauthenticated('the token has no usable `sub` claim');
      }
      // Frozen: one cached viewer is handed to many requests.
      return Object.freeze({ id: payload.sub, expiresAt: payload.exp ?? null });
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthenticated('the token has expired');
      if (e instanceof joseErrors.JOSEError) throw unauthenticated('the token is invalid');
      throw e;
    }
  }

  /** Mints a token (development start-up, tests, the CLI). */
  sign(sub: string, ttlSeconds = 7 * 86400): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(this.now() / 1000) + ttlSeconds)
      .sign(this.key);
  }
}
