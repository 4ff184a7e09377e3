import { createReadStream } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MIN_PART_BYTES } from '../domain/multipart.js';
import { type OutputFile, OriginalChangedError } from '../media/result.js';
import { ClientUrls, type PresignGetResponse, getCommand } from './client-urls.js';

export type { PresignGetResponse };

export interface StorageOptions {
  /** Endpoint URL, or null for AWS S3 itself. */
  endpoint: string | null;
  /** Endpoint that URLs handed to clients are signed for (SigV4 signs the host). */
  publicEndpoint: string | null;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  forcePathStyle: boolean;
}

export interface ObjectHead {
  size: number;
  contentType: string | null;
  /** The version's entity tag, quotes included (what If-Match takes). */
  etag: string | null;
}

function makeClient(endpoint: string | null, o: StorageOptions): S3Client {
  return new S3Client({
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    // The SDK's default checksums break S3-compatible servers: streamed bodies
    // are stored with their chunk framing and presigned URLs carry a bogus
    // checksum (STACK.md). Checksums only where the API requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * A backstop behind the service's own sweep: incomplete multipart uploads are
 * aborted and quarantined originals expire after a day, even if no worker runs.
 */
export const LIFECYCLE = {
  Rules: [
    { ID: 'abort-incomplete-multipart', Status: 'Enabled' as const, Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    { ID: 'expire-quarantined-uploads', Status: 'Enabled' as const, Filter: { Prefix: 'uploads/' }, Expiration: { Days: 1 } },
  ],
};

const isNotFound = (e: unknown) =>
  e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey');

/** Multipart parts of stored outputs: S3's minimum, two in flight (memory stays ~10 MB whatever the length). */
const OUTPUT_PART_BYTES = MIN_PART_BYTES;
const OUTPUT_PARTS_IN_FLIGHT = 2;

/** Reads at most `limit` bytes of a body, then lets the connection go. */
async function readAtMost(body: AsyncIterable<Uint8Array> & { destroy?: () => void }, limit: number): Promise<Uint8Array> {
  const out = new Uint8Array(limit);
  let length = 0;
  for await (const chunk of body) {
    const take = Math.min(chunk.length, limit - length);
    out.set(chunk.subarray(0, take), length);
    length += take;
    if (length === limit) break;
  }
  body.destroy?.();
  return out.subarray(0, length);
}

/** Headers an object is stored with (set on the PUT, or when a multipart upload starts). */
export interface ObjectHeaders {
  contentType: string;
  contentDisposition?: string;
}

const objectMeta = (h: ObjectHeaders) => ({
  ContentType: h.contentType,
  ...(h.contentDisposition ? { ContentDisposition: h.contentDisposition } : {}),
});

/** Every S3 side effect of the service, behind one small seam. */
export class Storage {
  readonly client: S3Client;
  /** Signs URLs for clients; the same as `client` when there is no public endpoint. */
  private readonly publicClient: S3Client;
  private readonly clientUrls: ClientUrls;

  constructor(readonly options: StorageOptions) {
    this.client = makeClient(options.endpoint, options);
    this.publicClient = options.publicEndpoint ? makeClient(options.publicEndpoint, options) : this.client;
    this.clientUrls = new ClientUrls(this.publicClient, options.bucket, options.region, options.credentials);
  }

  get bucket(): string {
    return this.options.bucket;
  }

  /**
   * Creates the bucket when missing, with the lifecycle rule production
   * buckets should carry. Returns whether the rule could be set ('exists':
   * the bucket was there already and is left as its owner configured it).
   */
  async ensureBucket(): Promise<'exists' | 'created' | 'created-without-lifecycle'> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return 'exists';
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    try {
      await this.client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: this.bucket, LifecycleConfiguration: LIFECYCLE }));
      return 'created';
    } catch {
      return 'created-without-lifecycle'; // e.g. s3rver: no lifecycle API; the sweep covers it
    }
  }

  /** A PUT URL that signs Content-Type and Content-Length: a body of another size or type is refused by S3/MinIO. */
  presignPut(key: string, contentType: string, contentLength: number, ttlSeconds: number, signingDate?: Date): Promise<string> {
    return this.clientUrls.put(key, contentType, contentLength, ttlSeconds, signingDate);
  }

  /** A GET URL for clients (public endpoint), with response headers fixed by the signature. */
  presignPublicGet(key: string, ttlSeconds: number, response: PresignGetResponse = {}, signingDate?: Date): Promise<string> {
    return this.clientUrls.get(key, response, ttlSeconds, signingDate);
  }

  /** Whether client URLs are signed by our own SigV4 code (else by the SDK). */
  usesOwnPresigner(): Promise<boolean> {
    return this.clientUrls.usesOwnSigner();
  }

  /** A GET URL for our own processes (internal endpoint), e.g. ffmpeg's input. */
  presignInternalGet(key: string, ttlSeconds: number): Promise<string> {
    return getSignedUrl(this.client, getCommand(this.bucket, key), { expiresIn: ttlSeconds });
  }

  async head(key: string): Promise<ObjectHead | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: Number(r.ContentLength ?? 0), contentType: r.ContentType ?? null, etag: r.ETag ?? null };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /**
   * Bytes [start, endInclusive] of an object (fewer when it is shorter). With
   * `etag`, only of that version: S3 answers 412 to If-Match otherwise, and a
   * storage that ignores If-Match is caught by the ETag it answers with.
   * Anything but a 206 is refused, and no more than the range is ever read.
   */
  async getRange(key: string, start: number, endInclusive: number, etag: string | null = null): Promise<Uint8Array> {
    let r;
    try {
      r = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, Range: `bytes=${start}-${endInclusive}`, ...(etag ? { IfMatch: etag } : {}),
      }));
    } catch (e) {
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 412) throw new OriginalChangedError(`${key} changed after it was checked`);
      throw e;
    }
    const body = r.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const refusal = r.$metadata.httpStatusCode !== 206 ? new Error(`storage answered a ranged read of ${key} with ${r.$metadata.httpStatusCode}, not 206`)
      : etag && r.ETag !== etag ? new OriginalChangedError(`${key} changed after it was checked`) : null;
    if (refusal) body?.destroy?.();
    if (refusal) throw refusal;
    return body ? await readAtMost(body, endInclusive - start + 1) : new Uint8Array();
  }

  /** Deletes an object; a missing object is not an error. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /**
   * Stores a finished local file: lib-storage's Upload reads it part by part
   * (one PUT when it fits in one part), so memory does not grow with length.
   */
  async uploadFile(file: OutputFile): Promise<void> {
    const upload = new Upload({
      client: this.client, partSize: OUTPUT_PART_BYTES, queueSize: OUTPUT_PARTS_IN_FLIGHT, leavePartsOnError: false,
      params: { Bucket: this.bucket, Key: file.key, Body: createReadStream(file.path), ...objectMeta(file) },
    });
    await upload.done();
  }

  /**
   * Every key under a prefix, page by page. ListObjects (v1) with the last key
   * as the marker: every S3 implements it, and s3rver's v2 continuation tokens
   * need a cipher that Node 22+ removed (a 500 past 1,000 keys).
   */
  async *listKeys(prefix: string): AsyncGenerator<{ key: string; lastModified: Date | null }> {
    let marker: string | undefined;
    for (;;) {
      const r = await this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker }));
      const contents = r.Contents ?? [];
      for (const o of contents) if (o.Key) yield { key: o.Key, lastModified: o.LastModified ?? null };
      const last = contents.at(-1)?.Key;
      if (!r.IsTruncated || last === undefined) return;
      marker = last;
    }
  }

  /** Starts a multipart upload; the object gets its headers here, not from the parts. */
  async createMultipart(key: string, headers: ObjectHeaders): Promise<string> {
    const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...objectMeta(headers) }));
    if (!r.UploadId) throw new Error('storage returned no UploadId');
    return r.UploadId;
  }

  /** A PUT URL for one part, signed for its exact length. */
  presignPart(key: string, uploadId: string, partNumber: number, contentLength: number, ttlSeconds: number): Promise<string> {
    const cmd = new UploadPartCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ContentLength: contentLength,
    });
    return getSignedUrl(this.publicClient, cmd, { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length']) });
  }

  /**
   * Completes a multipart upload. 'missing': the upload id is unknown (never
   * started, aborted, or already completed); 'invalid-part': a part the
   * storage does not have or whose ETag it refuses (S3 InvalidPart; s3rver
   * does not check ETags, AWS S3 and MinIO do).
   */
  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<'ok' | 'missing' | 'invalid-part'> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
      return 'ok';
    } catch (e) {
      if (e instanceof S3ServiceException) {
        if (e.name === 'NoSuchUpload') return 'missing';
        if (e.name === 'InvalidPart' || e.name === 'InvalidPartOrder' || e.name === 'EntityTooSmall') return 'invalid-part';
      }
      throw e;
    }
  }

  /**
   * Aborts a multipart upload. Never throws for a storage answer: an unknown
   * upload id is already gone, and a storage without the call (s3rver) leaves
   * the parts to the bucket's lifecycle rule. Returns whether it was aborted.
   */
  async abortMultipart(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      return true;
    } catch (e) {
      if (e instanceof S3ServiceException) return false;
      throw e;
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  close(): void {
    this.client.destroy();
    if (this.publicClient !== this.client) this.publicClient.destroy();
  }
}

