// The bucket's CORS rules, as the web app needs them: browsers PUT uploads
// straight to storage and read each part's ETag, and players on any site GET
// the presigned outputs. PutBucketCors replaces the whole set, so the
// operator's rules are read first and kept; ours are merged in only when what
// is there does not already cover the app.
import {
  type CORSRule,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Logger } from '../log.js';

/** Our rules carry these IDs, so a later start replaces them instead of piling up. */
export const UPLOAD_RULE_ID = 'audio-service-upload';
export const READ_RULE_ID = 'audio-service-read';

const EXPOSED = ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges'];
const MAX_AGE_SECONDS = 3000;
/** AWS S3 refuses a configuration of more rules. */
const MAX_RULES = 100;

/**
 * The app's two rules. Upload: PUT (single file, multipart parts) from the
 * app's origins with Content-Type, ETag readable (CompleteMultipartUpload
 * needs it). Read: GET/HEAD from any origin: the URLs are presigned, so the
 * signature, not the origin, is what grants access.
 */
export function appCorsRules(origins: readonly string[]): CORSRule[] {
  return [
    {
      ID: UPLOAD_RULE_ID,
      AllowedOrigins: [...origins],
      AllowedMethods: ['PUT', 'GET', 'HEAD'],
      AllowedHeaders: ['*'],
      ExposeHeaders: EXPOSED,
      MaxAgeSeconds: MAX_AGE_SECONDS,
    },
    { ID: READ_RULE_ID, AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], ExposeHeaders: EXPOSED, MaxAgeSeconds: MAX_AGE_SECONDS },
  ];
}

/** S3's origin/header patterns: at most one `*`, which matches any run of characters. */
function matches(patterns: readonly string[] | undefined, value: string, ignoreCase: boolean): boolean {
  const v = ignoreCase ? value.toLowerCase() : value;
  return (patterns ?? []).some((raw) => {
    const p = ignoreCase ? raw.toLowerCase() : raw;
    const star = p.indexOf('*');
    if (star < 0) return p === v;
    const before = p.slice(0, star);
    const after = p.slice(star + 1);
    return v.length >= before.length + after.length && v.startsWith(before) && v.endsWith(after);
  });
}

/**
 * The rule storage answers a request with. S3-compatible servers differ in
 * whether request headers take part in the match (AWS: yes; s3rver: no), so
 * this takes the stricter reading: the first rule for the origin and method
 * decides, and must allow the headers itself.
 */
function firstRule(rules: readonly CORSRule[], origin: string, method: string): CORSRule | undefined {
  return rules.find((r) => matches(r.AllowedOrigins, origin, false) && (r.AllowedMethods ?? []).includes(method));
}

function allowsUpload(rules: readonly CORSRule[], origin: string): boolean {
  const rule = firstRule(rules, origin, 'PUT');
  if (!rule) return false;
  const exposesEtag = (rule.ExposeHeaders ?? []).some((h) => h.toLowerCase() === 'etag');
  return exposesEtag && matches(rule.AllowedHeaders, 'content-type', true);
}

/** Whether every origin may upload and any origin may read (a `*` rule with GET). */
export function coversApp(rules: readonly CORSRule[], origins: readonly string[]): boolean {
  const readable = rules.some((r) => (r.AllowedOrigins ?? []).includes('*') && (r.AllowedMethods ?? []).includes('GET'));
  return readable && origins.every((o) => allowsUpload(rules, o));
}

/**
 * Pure decision: null when the rules already cover the app, else the full set
 * to put. Our upload rule goes first (it names only the app's origins, and
 * the first matching rule is the one that answers); the operator's rules
 * follow unchanged; our read-from-anywhere rule goes last, so an operator's
 * rule for a particular origin keeps answering that origin.
 */
export function mergeCorsRules(existing: readonly CORSRule[], origins: readonly string[]): CORSRule[] | null {
  if (coversApp(existing, origins)) return null;
  const operators = existing.filter((r) => r.ID !== UPLOAD_RULE_ID && r.ID !== READ_RULE_ID);
  const [upload, read] = appCorsRules(origins);
  const merged = [upload!, ...operators, read!];
  if (merged.length > MAX_RULES) throw new Error(`the bucket has ${operators.length} CORS rules: no room for the app's two (S3 allows ${MAX_RULES})`);
  return merged;
}

/**
 * The origins browsers load the web app from: the service's own address (a
 * wildcard or loopback listen address is reached as localhost), the
 * configured extra origins, and, outside production, any local port (the
 * Vite dev server, a test page).
 */
export function appOrigins(o: { host: string; port: number; extra: readonly string[]; allowLocalhost: boolean }): string[] {
  const local = o.host === '0.0.0.0' || o.host === '::' || o.host === 'localhost' || o.host.startsWith('127.') || o.host === '::1';
  const own = local
    ? [`http://localhost:${o.port}`, `http://127.0.0.1:${o.port}`]
    : [`http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`];
  const dev = o.allowLocalhost ? ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'] : [];
  return [...new Set([...own, ...o.extra, ...dev])];
}

/** What to tell an operator whose storage would not take the rules: the exact configuration to add. */
export function corsAdvice(bucket: string, origins: readonly string[], reason: string): string {
  const config = JSON.stringify({ CORSRules: appCorsRules(origins) });
  return (
    `the bucket's CORS rules could not be checked or set (${reason}): browsers cannot upload from the web app until they allow it. ` +
    `On AWS S3 (or any storage with PutBucketCors), add these rules to the bucket's own: ` +
    `aws s3api put-bucket-cors --bucket ${bucket} --cors-configuration '${config}'. ` +
    `On MinIO without bucket CORS (it answers NotImplemented), set MINIO_API_CORS_ALLOW_ORIGIN=${origins.filter((o) => !o.includes('*')).join(',')} on the MinIO server ` +
    `(it then allows those origins every method and exposes ETag).`
  );
}

export type CorsOutcome = 'covered' | 'merged' | 'refused';

const s3Code = (e: unknown) => (e instanceof S3ServiceException ? e.name : null);

async function readRules(client: S3Client, bucket: string): Promise<CORSRule[]> {
  try {
    return (await client.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules ?? [];
  } catch (e) {
    if (s3Code(e) === 'NoSuchCORSConfiguration') return [];
    throw e;
  }
}

/**
 * Reads the bucket's rules and merges ours in when they fall short. Never
 * throws for a storage answer: a storage that refuses (AccessDenied, or
 * NotImplemented as community MinIO answers) gets a warning naming the rule
 * or setting to add, and the service runs on (/healthz does not depend on it).
 */
export async function ensureBucketCors(client: S3Client, bucket: string, origins: readonly string[], log: Logger): Promise<CorsOutcome> {
  try {
    const merged = mergeCorsRules(await readRules(client, bucket), origins);
    if (!merged) return 'covered';
    await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: merged } }));
    log.info({ bucket, origins }, "merged the web app's CORS rules into the bucket's");
    return 'merged';
  } catch (e) {
    const reason = s3Code(e) ?? (e as Error).message;
    log.warn({ bucket, err: { name: s3Code(e), message: (e as Error).message } }, corsAdvice(bucket, origins, reason));
    return 'refused';
  }
}
