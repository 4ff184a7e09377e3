import {
  type CryptoKey,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
} from 'jose';

/** The identity provider's keys could not be fetched (network, timeout, not 200, not a JWKS). */
export class KeysUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('the signing keys of the identity provider could not be fetched', { cause });
    this.name = 'KeysUnavailableError';
  }
}

export interface RemoteKeySetOptions {
  /** Keys are re-fetched after this long (jose's cacheMaxAge). */
  cacheMaxAgeMs?: number;
  /** An unknown `kid` re-fetches the set at most this often (jose's cooldown against key-id floods). */
  cooldownMs?: number;
  timeoutMs?: number;
  /** After a failed fetch, lookups that would fetch again fail fast (or use the last keys) for this long. */
  retryAfterFailureMs?: number;
  now?: () => number;
}

type KeyLookup = (header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * jose's remote JWKS (cached, re-fetched on an unknown `kid` outside the
 * cooldown, one fetch in flight at a time) with what an outage needs:
 * the last keys keep verifying while the provider cannot be reached (stale
 * if error), a failed fetch is not retried by every request for a while, and
 * `available` says how the last fetch went, for /healthz and /metrics.
 */
export class RemoteKeySet {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly retryAfterFailureMs: number;
  private readonly now: () => number;
  private lastFailureMs = Number.NEGATIVE_INFINITY;
  private failed = false;
  /** A local set over the keys of the last good fetch, remade when they change. */
  private stale: { jwks: JSONWebKeySet; lookup: KeyLookup } | null = null;

  constructor(readonly url: string, o: RemoteKeySetOptions = {}) {
    this.remote = createRemoteJWKSet(new URL(url), {
      cacheMaxAge: o.cacheMaxAgeMs ?? 10 * 60_000,
      cooldownDuration: o.cooldownMs ?? 30_000,
      timeoutDuration: o.timeoutMs ?? 3_000,
    });
    this.retryAfterFailureMs = o.retryAfterFailureMs ?? 2_000;
    this.now = o.now ?? Date.now;
  }

  /** False while the last fetch failed and none has succeeded since. */
  get available(): boolean {
    return !this.failed;
  }

  /** The key for a token (jose's key-lookup signature); throws KeysUnavailableError or jose's errors. */
  readonly lookup: KeyLookup = async (header, token) => {
    // Moments after a failed fetch: the keys we have, and no new fetch per request.
    if (this.now() - this.lastFailureMs < this.retryAfterFailureMs) return this.fromStale(header, token, undefined);
    try {
      const key = (await this.remote(header, token)) as CryptoKey;
      this.failed = false;
      return key;
    } catch (e) {
      // A set that answered but has no such key: the token is at fault, not the provider.
      if (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys) {
        this.failed = false;
        throw e;
      }
      this.lastFailureMs = this.now();
      this.failed = true;
      return this.fromStale(header, token, e);
    }
  };

  /** Fetches the set now unless a fetch failed moments ago (start-up, health checks); never throws. */
  async refresh(): Promise<boolean> {
    if (this.now() - this.lastFailureMs < this.retryAfterFailureMs) return false;
    try {
      await this.remote.reload();
      this.failed = false;
      return true;
    } catch {
      this.lastFailureMs = this.now();
      this.failed = true;
      return false;
    }
  }

  private async fromStale(header: JWTHeaderParameters, token: FlattenedJWSInput, cause: unknown): Promise<CryptoKey> {
    const jwks = this.remote.jwks();
    if (!jwks) throw new KeysUnavailableError(cause);
    if (this.stale?.jwks !== jwks) this.stale = { jwks, lookup: createLocalJWKSet(jwks) as KeyLookup };
    try {
      return await this.stale.lookup(header, token);
    } catch (e) {
      // A key we never had may be one the provider published during the outage.
      if (e instanceof joseErrors.JWKSNoMatchingKey) throw new KeysUnavailableError(cause ?? e);
      throw e;
    }
  }
}
