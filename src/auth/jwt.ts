import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
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

export class Auth {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
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
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 200) {
        throw unauthenticated('the token has no usable `sub` claim');
      }
      return { id: payload.sub, expiresAt: payload.exp ?? null };
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
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.key);
  }
}
