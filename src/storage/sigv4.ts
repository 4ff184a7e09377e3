// AWS Signature Version 4, query-string (presigned URL) form, for S3:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
// The SDK's presigner builds a middleware stack per URL (~0.45 ms of CPU on
// this VM, BENCHMARKS.md target 5); this is the same computation, ~20 µs.
// Its output is byte-identical to @aws-sdk/s3-request-presigner's for the
// same inputs (test/unit/sigv4.test.ts), and Storage checks that again at
// start-up before using it.
import { type KeyObject, createHash, createHmac, createSecretKey } from 'node:crypto';

export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PresignRequest {
  method: 'GET' | 'PUT';
  /** `scheme://host[:port]`, as the URL starts. */
  origin: string;
  /** The Host header value the client will send (port included when not the scheme's default). */
  host: string;
  /** Path before the key (path-style: `/<bucket>`; virtual-hosted: empty), already escaped. */
  pathPrefix: string;
  key: string;
  /** Query parameters besides the X-Amz-* ones (e.g. x-id, response-content-type). */
  query: Record<string, string>;
  /** Headers the client must send as signed, lower-case names (host is always signed). */
  headers: Record<string, string>;
  signingDate: Date;
  expiresInSeconds: number;
}

const UNRESERVED = /^[A-Za-z0-9._~-]*$/;

/** RFC 3986 unreserved characters stay; everything else is %XX (what the SDK's escapeUri does). */
export function escapeUri(s: string): string {
  if (UNRESERVED.test(s)) return s;
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 keys are not normalised: each segment escaped, the slashes kept. */
export const escapeKey = (key: string) => key.split('/').map(escapeUri).join('/');

/** `20261125T200000Z`: the ISO date without separators or milliseconds. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

const hmac = (key: Buffer | string | KeyObject, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** Signs query-string presigned URLs with one set of static credentials in one region. */
export class SigV4Presigner {
  /**
   * The derived signing key of the last day signed for: one HMAC chain a day
   * instead of one per URL. A KeyObject: createHmac with a Buffer key
   * re-imports it on every call (17 µs against 2.6 µs on this VM).
   */
  private dayKey: { day: string; key: KeyObject } | null = null;
  /** amzDate of the last signing date: playback URLs share one per window. */
  private lastDate: { ms: number; text: string } = { ms: NaN, text: '' };

  constructor(
    private readonly credentials: StaticCredentials,
    private readonly region: string,
    private readonly service = 's3',
  ) {}

  presign(r: PresignRequest): string {
    if (!Number.isInteger(r.expiresInSeconds) || r.expiresInSeconds < 1 || r.expiresInSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
      throw new Error(`a presigned URL lives 1 to ${MAX_PRESIGN_EXPIRES_SECONDS} seconds, not ${r.expiresInSeconds}`);
    }
    const longDate = this.amzDateOf(r.signingDate);
    const day = longDate.slice(0, 8);
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const headers: Record<string, string> = { ...lowerTrimmed(r.headers), host: r.host };
    const headerNames = Object.keys(headers).sort();
    const signedHeaders = headerNames.join(';');
    const query: Record<string, string> = {
      ...r.query,
      'X-Amz-Algorithm': ALGORITHM,
      'X-Amz-Content-Sha256': UNSIGNED_PAYLOAD,
      'X-Amz-Credential': `${this.credentials.accessKeyId}/${scope}`,
      'X-Amz-Date': longDate,
      'X-Amz-Expires': String(r.expiresInSeconds),
      'X-Amz-SignedHeaders': signedHeaders,
    };
    const pairs = Object.keys(query).map((k) => [escapeUri(k), escapeUri(query[k]!)] as const);
    const canonicalQuery = joinSorted(pairs);
    const path = `${r.pathPrefix}/${escapeKey(r.key)}`;
    const canonicalRequest = [
      r.method,
      path,
      canonicalQuery,
      headerNames.map((h) => `${h}:${headers[h]}\n`).join(''),
      signedHeaders,
      UNSIGNED_PAYLOAD,
    ].join('\n');
    const stringToSign = [ALGORITHM, longDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
    const signature = hmac(this.signingKey(day), stringToSign).toString('hex');
    // The signature goes in its sorted place, as the SDK writes it.
    return `${r.origin}${path}?${joinSorted([...pairs, ['X-Amz-Signature', signature]])}`;
  }

  private signingKey(day: string): KeyObject {
    if (this.dayKey?.day !== day) {
      const kDate = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
      const key = createSecretKey(hmac(hmac(hmac(kDate, this.region), this.service), 'aws4_request'));
      this.dayKey = { day, key };
    }
    return this.dayKey.key;
  }

  private amzDateOf(d: Date): string {
    const ms = Math.floor(d.getTime() / 1000) * 1000;
    if (this.lastDate.ms !== ms) this.lastDate = { ms, text: amzDate(d) };
    return this.lastDate.text;
  }
}

function lowerTrimmed(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  return out;
}

/** `k=v&...` ordered by escaped key (code units: upper case before lower case), as SigV4 sorts. */
function joinSorted(pairs: (readonly [string, string])[]): string {
  return [...pairs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
