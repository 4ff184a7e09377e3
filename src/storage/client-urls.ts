// Presigned URLs handed to clients (upload PUTs, playback GETs): signed by
// our own SigV4 code (sigv4.ts, ~20 µs) where it provably writes what the AWS
// SDK writes (~450 µs of middleware per URL; BENCHMARKS.md target 5), else
// by the SDK.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type PresignRequest, SigV4Presigner, type StaticCredentials, escapeKey } from './sigv4.js';

export interface PresignGetResponse {
  contentType?: string;
  contentDisposition?: string;
}

/** Where client URLs point, as the SDK resolves it (path or virtual-hosted style, any endpoint), and the signer. */
interface OwnSigner {
  signer: SigV4Presigner;
  origin: string;
  host: string;
  pathPrefix: string;
}

const PROBE_KEY = 'presign-self-check/probe.m4a';
const PROBE_DATE = new Date(Date.UTC(2026, 0, 1));

export class ClientUrls {
  private own: Promise<OwnSigner | null> | null = null;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly region: string,
    /** Static keys only: credentials from the SDK's provider chain rotate, and stay with the SDK. */
    private readonly credentials: StaticCredentials | null,
  ) {}

  async put(key: string, contentType: string, contentLength: number, ttlSeconds: number, signingDate = new Date()): Promise<string> {
    const own = await this.ownSigner();
    if (own) return own.signer.presign(putRequest(own, key, contentType, contentLength, ttlSeconds, signingDate));
    return this.sdkPut(key, contentType, contentLength, ttlSeconds, signingDate);
  }

  async get(key: string, response: PresignGetResponse, ttlSeconds: number, signingDate = new Date()): Promise<string> {
    const own = await this.ownSigner();
    if (own) return own.signer.presign(getRequest(own, key, response, ttlSeconds, signingDate));
    return this.sdkGet(key, response, ttlSeconds, signingDate);
  }

  async usesOwnSigner(): Promise<boolean> {
    return (await this.ownSigner()) !== null;
  }

  private sdkPut(key: string, contentType: string, contentLength: number, ttlSeconds: number, signingDate: Date): Promise<string> {
    const cmd = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ContentLength: contentLength });
    return getSignedUrl(this.client, cmd, { expiresIn: ttlSeconds, signingDate, signableHeaders: new Set(['content-type', 'content-length']) });
  }

  private sdkGet(key: string, response: PresignGetResponse, ttlSeconds: number, signingDate: Date): Promise<string> {
    return getSignedUrl(this.client, getCommand(this.bucket, key, response), { expiresIn: ttlSeconds, signingDate });
  }

  /** Decided once: our signer if it writes exactly the SDK's URLs for this endpoint, else null (the SDK signs). */
  private ownSigner(): Promise<OwnSigner | null> {
    return (this.own ??= this.checkOwnSigner().catch(() => null));
  }

  private async checkOwnSigner(): Promise<OwnSigner | null> {
    if (!this.credentials) return null;
    const sdkUrl = new URL(await this.sdkGet(PROBE_KEY, {}, 60, PROBE_DATE));
    const suffix = `/${escapeKey(PROBE_KEY)}`;
    if (!sdkUrl.pathname.endsWith(suffix)) return null;
    const own: OwnSigner = {
      signer: new SigV4Presigner(this.credentials, this.region),
      origin: sdkUrl.origin,
      host: sdkUrl.host,
      pathPrefix: sdkUrl.pathname.slice(0, -suffix.length),
    };
    const response = { contentType: 'audio/mp4', contentDisposition: 'inline; filename="probe.m4a"' };
    const sameGet = own.signer.presign(getRequest(own, PROBE_KEY, response, 600, PROBE_DATE)) === (await this.sdkGet(PROBE_KEY, response, 600, PROBE_DATE));
    const samePut =
      own.signer.presign(putRequest(own, PROBE_KEY, 'audio/mpeg', 1234, 600, PROBE_DATE)) === (await this.sdkPut(PROBE_KEY, 'audio/mpeg', 1234, 600, PROBE_DATE));
    return sameGet && samePut ? own : null;
  }
}

export function getCommand(bucket: string, key: string, response: PresignGetResponse = {}): GetObjectCommand {
  return new GetObjectCommand({
    Bucket: bucket,
    Key: key,
    ...(response.contentType ? { ResponseContentType: response.contentType } : {}),
    ...(response.contentDisposition ? { ResponseContentDisposition: response.contentDisposition } : {}),
  });
}

function putRequest(o: OwnSigner, key: string, contentType: string, contentLength: number, ttlSeconds: number, signingDate: Date): PresignRequest {
  return {
    method: 'PUT',
    origin: o.origin,
    host: o.host,
    pathPrefix: o.pathPrefix,
    key,
    query: { 'x-id': 'PutObject' },
    headers: { 'content-length': String(contentLength), 'content-type': contentType },
    signingDate,
    expiresInSeconds: ttlSeconds,
  };
}

function getRequest(o: OwnSigner, key: string, response: PresignGetResponse, ttlSeconds: number, signingDate: Date): PresignRequest {
  return {
    method: 'GET',
    origin: o.origin,
    host: o.host,
    pathPrefix: o.pathPrefix,
    key,
    query: {
      ...(response.contentDisposition ? { 'response-content-disposition': response.contentDisposition } : {}),
      ...(response.contentType ? { 'response-content-type': response.contentType } : {}),
      'x-id': 'GetObject',
    },
    headers: {},
    signingDate,
    expiresInSeconds: ttlSeconds,
  };
}
