import { type JWTPayload, type JWTHeaderParameters, SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { Lru } from '../cache/lru.js';
import { unauthenticated } from '../domain/errors.js';
import { KeysUnavailableError, RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';

/** Known to everyone who reads this file: used only by `npm start` on embedded servers (config.ts decides). */
export const DEVELOPMENT_JWT_SECRET = 'development-secret-do-not-use-in-production-0123456789';

/** Our tokens are ~200 characters, providers' ~1 KB; HTTP headers stop at 16 KiB anyway. */
export const MAX_AUTHORIZATION_CHARS = 8192;

/** What identity providers sign with. Never `none`, never HS* against a public key. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'] as const;

export interface Viewer {
  /** The owner claim (`sub` by default): owner of every asset it creates. */
  id: string;
  /** Token expiry (epoch seconds), so long-lived sockets can end with it. */
  expiresAt: number;
}

/** How bearer tokens are verified (config.ts: the AUTH_* variables). */
export interface AuthSettings {
  /** HS256 secret; null: HS256 tokens are refused. */
  jwtSecret: string | null;
  /** JWKS URL for RS256/ES256/EdDSA tokens; null: those are refused. */
  jwksUrl?: string | null;
  issuer?: string | null;
  audience?: string | null;
  ownerClaim?: string;
  clockToleranceSeconds?: number;
}

export interface AuthOptions {
  /** Verified tokens remembered (token -> viewer, until the token's `exp`); 0 turns the cache off. */
  cacheEntries?: number;
  /** The clock, in epoch milliseconds (tests move it). */
  now?: () => number;
  jwks?: RemoteKeySetOptions;
}

/**
 * Clients send the same token with every request, and a verify costs
 * 60-100 µs (HS256) to ~150 µs (RS256) of WebCrypto (BENCHMARKS.md, target 5).
 * Longer tokens are verified but not remembered, so the cache stays ~10k x
 * 2 KiB at most.
 */
const MAX_CACHED_TOKEN_CHARS = 2048;
/** Owner ids are stored per asset; providers' ids are far shorter. */
const MAX_OWNER_CHARS = 200;

interface CachedViewer {
  viewer: Viewer;
  /** Epoch ms from which the entry must not be used. */
  validUntilMs: number;
}

export class Auth {
  private readonly hsKey: Uint8Array | null;
  /** The provider's keys; null without AUTH_JWKS_URL. */
  readonly keySet: RemoteKeySet | null;
  private readonly algorithms: string[];
  private readonly issuer: string | undefined;
  private readonly audience: string | undefined;
  private readonly ownerClaim: string;
  readonly clockToleranceSeconds: number;
  private readonly now: () => number;
  private readonly cache: Lru<string, CachedViewer> | null;

  /** A string is an HS256 secret with the defaults (tests, the CLI, the bench). */
  constructor(settings: string | AuthSettings, options: AuthOptions = {}) {
    const s: AuthSettings = typeof settings === 'string' ? { jwtSecret: settings } : settings;
    this.hsKey = s.jwtSecret ? new TextEncoder().encode(s.jwtSecret) : null;
    this.keySet = s.jwksUrl ? new RemoteKeySet(s.jwksUrl, { now: options.now, ...options.jwks }) : null;
    this.algorithms = [...(this.hsKey ? ['HS256'] : []), ...(this.keySet ? ASYMMETRIC_ALGORITHMS : [])];
    this.issuer = s.issuer ?? undefined;
    this.audience = s.audience ?? undefined;
    this.ownerClaim = s.ownerClaim ?? 'sub';
    this.clockToleranceSeconds = s.clockToleranceSeconds ?? 5;
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
      // Only an expiry ends a cached entry: the token was valid until then.
      this.cache!.delete(token);
      throw unauthenticated('the token has expired');
    }
    const viewer = await this.verifyUncached(token, nowMs);
    if (this.cache && token.length <= MAX_CACHED_TOKEN_CHARS) this.cache.set(token, { viewer, validUntilMs: this.validUntilMs(viewer) });
    return viewer;
  }

  /**
   * Epoch ms from which a token is refused: its `exp` plus the clock
   * tolerance, the one rule for HTTP, the cache and open sockets.
   */
  validUntilMs(viewer: Viewer): number {
    return (viewer.expiresAt + this.clockToleranceSeconds) * 1000;
  }

  private async verifyUncached(token: string, nowMs: number): Promise<Viewer> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keyFor, {
        algorithms: this.algorithms,
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: this.clockToleranceSeconds,
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
      }));
    } catch (e) {
      throw refusal(e);
    }
    const owner = payload[this.ownerClaim];
    if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_CHARS) {
      throw unauthenticated(`the token has no usable \`${this.ownerClaim}\` claim`);
    }
    // Frozen: one cached viewer is handed to many requests.
    return Object.freeze({ id: owner, expiresAt: payload.exp! });
  }

  /**
   * HS256 only ever meets our secret, and the asymmetric algorithms only the
   * provider's keys (jose matches each JWK's `kty`/`alg` to the header), so
   * an HS256 token "signed" with a public key meets the secret and fails.
   */
  private readonly keyFor = async (header: JWTHeaderParameters, token: Parameters<RemoteKeySet['lookup']>[1]) => {
    if (header.alg === 'HS256' && this.hsKey) return this.hsKey;
    if (this.keySet && (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(header.alg)) return this.keySet.lookup(header, token);
    throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  };

  /** Mints an HS256 token (development start-up, tests, the CLI, the bench). */
  sign(sub: string, ttlSeconds = 7 * 86400): Promise<string> {
    if (!this.hsKey) return Promise.reject(new Error('no HS256 secret configured: tokens come from the identity provider'));
    const jwt = new SignJWT({ [this.ownerClaim]: sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(this.now() / 1000) + ttlSeconds);
    if (this.issuer) jwt.setIssuer(this.issuer);
    if (this.audience) jwt.setAudience(this.audience);
    return jwt.sign(this.hsKey);
  }
}

/** jose's errors and ours, as the UNAUTHENTICATED a client sees (never a 500). */
function refusal(e: unknown): Error {
  if (e instanceof KeysUnavailableError) {
    return unauthenticated("the identity provider's signing keys could not be fetched; try again shortly");
  }
  if (e instanceof joseErrors.JWTExpired) return unauthenticated('the token has expired');
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    return unauthenticated(`the token's \`${e.claim}\` claim is ${e.reason === 'missing' ? 'missing' : 'not accepted'}`);
  }
  if (e instanceof joseErrors.JOSEError) return unauthenticated('the token is invalid');
  // Anything else from a key lookup (a malformed JWK, a WebCrypto refusal) is the token's or the provider's fault.
  return unauthenticated('the token is invalid');
}

/** The Auth a process's configuration asks for (the development secret only where config.ts allowed it). */
export function createAuth(config: {
  authJwtSecret: string | null;
  authDevelopmentSecret: boolean;
  authJwksUrl: string | null;
  authIssuer: string | null;
  authAudience: string | null;
  authOwnerClaim: string;
  authClockToleranceSeconds: number;
  authJwksCooldownSeconds: number;
}): Auth {
  return new Auth({
    jwtSecret: config.authJwtSecret ?? (config.authDevelopmentSecret ? DEVELOPMENT_JWT_SECRET : null),
    jwksUrl: config.authJwksUrl,
    issuer: config.authIssuer,
    audience: config.authAudience,
    ownerClaim: config.authOwnerClaim,
    clockToleranceSeconds: config.authClockToleranceSeconds,
  }, { jwks: { cooldownMs: config.authJwksCooldownSeconds * 1000 } });
}
