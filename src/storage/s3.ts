import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
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
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MIN_PART_BYTES, planParts } from '../domain/multipart.js';
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

/** An open multipart upload (Storage.openMultipart). */
export interface MultipartObject {
  /** Uploads one part made of `body`'s chunks, in order; they may be reused once it settles. */
  put(partNumber: number, body: readonly Uint8Array[]): Promise<void>;
  /** Completes the upload with every part put so far, in part-number order. */
  complete(): Promise<void>;
  abort(): Promise<void>;
}

export interface ObjectHead {
  size: number;
  contentType: string | null;
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

/** putFile: one PUT up to this size, else parts of FILE_PART_BYTES (S3's minimum). */
export const FILE_SINGLE_PUT_MAX_BYTES = 16 * 1024 * 1024;
export const FILE_PART_BYTES = MIN_PART_BYTES;

/** Headers an object is stored with (set on the PUT, or when a multipart upload starts). */
export interface ObjectHeaders {
  contentType: string;
  contentDisposition?: string;
}

const objectMeta = (h: ObjectHeaders) => ({
  ContentType: h.contentType,
  ...(h.contentDisposition ? { ContentDisposition: h.contentDisposition } : {}),
});

async function readExactly(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`file ended ${length - done} bytes early`);
    done += bytesRead;
  }
}

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
      return { size: Number(r.ContentLength ?? 0), contentType: r.ContentType ?? null };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Bytes [start, endInclusive] of an object (fewer when it is shorter). */
  async getRange(key: string, start: number, endInclusive: number): Promise<Uint8Array> {
    const r = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${endInclusive}` }),
    );
    return r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
  }

  /** Deletes an object; a missing object is not an error. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /**
   * Stores a local file. Up to FILE_SINGLE_PUT_MAX_BYTES: one PUT of the file
   * read whole. Above: a multipart upload whose parts are read one after the
   * other into ONE reused buffer. A file read stream would hand out a fresh
   * Buffer per 64 KiB that V8 frees lazily: storing a 60 MB M4A left 28 MB of
   * dead buffers in the worker (measured), i.e. memory growing with length.
   */
  async putFile(key: string, path: string, headers: ObjectHeaders): Promise<void> {
    const { size } = await stat(path);
    if (size <= FILE_SINGLE_PUT_MAX_BYTES) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: await readFile(path), ContentLength: size, ...objectMeta(headers) }));
      return;
    }
    const upload = await this.openMultipart(key, headers);
    const file = await open(path, 'r');
    try {
      const { partSize, parts } = planParts(size, FILE_PART_BYTES);
      const buffer = Buffer.allocUnsafe(partSize);
      for (const { partNumber, length } of parts) {
        await readExactly(file, buffer, length, (partNumber - 1) * partSize);
        // Awaited before the buffer is refilled: the request holds a view of it until then.
        await upload.put(partNumber, [buffer.subarray(0, length)]);
      }
      await upload.complete();
    } catch (e) {
      await upload.abort();
      throw e;
    } finally {
      await file.close();
    }
  }

  /**
   * A multipart upload its caller fills part by part, in any order (a
   * streamed M4A sends its header part last), then completes. The object
   * exists only once completed; abort() is best effort and never throws.
   */
  async openMultipart(key: string, headers: ObjectHeaders): Promise<MultipartObject> {
    const uploadId = await this.createMultipart(key, headers);
    const etags = new Map<number, string>();
    return {
      put: async (partNumber, body) => {
        const length = body.reduce((sum, chunk) => sum + chunk.length, 0);
        const r = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: length,
            // Several chunks go as one stream rather than being copied into a new buffer.
            Body: body.length === 1 ? body[0] : Readable.from(body),
          }),
        );
        if (!r.ETag) throw new Error(`storage returned no ETag for part ${partNumber}`);
        etags.set(partNumber, r.ETag);
      },
      complete: async () => {
        const parts = [...etags].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag }));
        const result = await this.completeMultipart(key, uploadId, parts);
        if (result !== 'ok') throw new Error(`completing the multipart upload of ${key} failed: ${result}`);
      },
      abort: async () => {
        await this.abortMultipart(key, uploadId).catch(() => false);
      },
    };
  }

  /** Every key under a prefix, page by page. */
  async *listKeys(prefix: string): AsyncGenerator<{ key: string; lastModified: Date | null }> {
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) if (o.Key) yield { key: o.Key, lastModified: o.LastModified ?? null };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
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

