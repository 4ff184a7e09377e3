// Browser uploads straight to storage: prepare (or resume), PUT to the
// presigned URL(s) with XMLHttpRequest (fetch has no upload progress), then
// complete. Resumable as Uppy's users expect: the asset and the file's
// identity are remembered, each stored part is recorded with the service,
// a reloaded page that is given the same file again sends only the parts
// storage lacks, URLs are renewed before they expire, and a failed part is
// retried with backoff.
import type { ApolloClient } from '@apollo/client';
import { addToList } from './cache';
import type { PreparedUploadFieldsFragment as Session } from './gql/graphql';
import { CompleteUploadMutation, PrepareUploadMutation, RecordUploadedPartMutation, RenewUploadUrlsMutation } from './operations';
import { findUpload, forgetUpload, rememberUpload } from './resume-store';
import { PART_ATTEMPTS, TransferMeter, backoffMs } from './transfer';

export interface UploadProgress {
  loaded: number;
  total: number;
  /** Bytes that were already stored when this page resumed the upload. */
  resumedBytes: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
}

export interface UploadHooks {
  onPrepared(assetId: string): void;
  onProgress(progress: UploadProgress): void;
}

/** Parts sent at once: enough to fill a link, few enough for a phone. */
const PARALLEL_PARTS = 3;
/** URLs this close to expiry are renewed before a PUT starts. */
const RENEW_MARGIN_MS = 30_000;

/** Declared type as the contract accepts it: no parameters, octet-stream when the browser has none. */
export function declaredType(file: File): string {
  return file.type.split(';')[0]!.trim() || 'application/octet-stream';
}

export async function uploadFile(client: ApolloClient, file: File, hooks: UploadHooks): Promise<void> {
  const session = await begin(client, file);
  const id = session.asset.id;
  addToList(client.cache, session.asset);
  rememberUpload(file, id);
  hooks.onPrepared(id);
  const transfer = new Transfer(client, file, session, hooks);
  const parts = await transfer.run();
  await client.mutate({ mutation: CompleteUploadMutation, variables: { input: { id, parts } } });
  forgetUpload(id);
}

/** The same file as an upload a previous page left unfinished: resume it; else a new asset. */
async function begin(client: ApolloClient, file: File): Promise<Session> {
  const previous = findUpload(file);
  if (previous) {
    try {
      const { data } = await client.mutate({ mutation: RenewUploadUrlsMutation, variables: { id: previous } });
      return data!.renewUploadUrls;
    } catch {
      forgetUpload(previous); // deleted, completed or expired meanwhile: start over
    }
  }
  const { data } = await client.mutate({
    mutation: PrepareUploadMutation,
    variables: { input: { filename: file.name || 'recording', size: file.size, contentType: declaredType(file) } },
  });
  return data!.prepareAudioUpload;
}

class PutError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
  /** Network errors, expired URLs (after a renewal), throttling and server faults are worth another try. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 403 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One upload's bytes: the missing parts (or the whole file), with renewals, retries and progress. */
class Transfer {
  private session: Session;
  private renewing: Promise<void> | null = null;
  private readonly etags = new Map<number, string>();
  private readonly inFlight = new Map<number, number>();
  private storedBytes = 0;
  private readonly resumedBytes: number;
  private readonly meter = new TransferMeter();

  constructor(
    private readonly client: ApolloClient,
    private readonly file: File,
    session: Session,
    private readonly hooks: UploadHooks,
  ) {
    this.session = session;
    const partSize = session.multipart?.partSize ?? 0;
    for (const p of session.uploadedParts) {
      this.etags.set(p.partNumber, p.etag);
      this.storedBytes += this.slice(p.partNumber, partSize).size;
    }
    this.resumedBytes = this.storedBytes;
  }

  /** Sends what storage lacks; returns every part's ETag in order (null for a single PUT). */
  async run(): Promise<{ partNumber: number; etag: string }[] | null> {
    this.report();
    const multipart = this.session.multipart;
    if (!multipart) {
      await this.send(0, this.file, () => this.session.uploadUrl!);
      return null;
    }
    const queue = multipart.parts.map((p) => p.partNumber).filter((n) => !this.etags.has(n));
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) await this.part(n);
    };
    await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
    return multipart.parts.map((p) => ({ partNumber: p.partNumber, etag: this.etags.get(p.partNumber)! }));
  }

  private slice(partNumber: number, partSize: number): Blob {
    return this.file.slice((partNumber - 1) * partSize, partNumber * partSize);
  }

  private async part(partNumber: number): Promise<void> {
    const url = () => this.session.multipart!.parts.find((p) => p.partNumber === partNumber)!.url;
    const etag = await this.send(partNumber, this.slice(partNumber, this.session.multipart!.partSize), url);
    // The embedded S3 (and a bucket with the service's CORS rules) exposes ETag to scripts.
    if (!etag) throw new Error(`storage returned no ETag for part ${partNumber} (is ETag exposed by the bucket's CORS rules?)`);
    this.etags.set(partNumber, etag);
    const { id } = this.session.asset;
    await this.client.mutate({ mutation: RecordUploadedPartMutation, variables: { input: { id, partNumber, etag } } }).catch(() => {
      // Only resuming after a reload needs the record; this upload goes on without it.
    });
  }

  /** One PUT, renewed when its URL is about to expire, retried with backoff. */
  private async send(key: number, body: Blob, url: () => string): Promise<string | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (Date.parse(this.session.expiresAt) - Date.now() < RENEW_MARGIN_MS) await this.renew();
        const headers = this.session.uploadHeaders.map((h) => [h.name, h.value] as const);
        const etag = await put(url(), body, headers, (loaded) => this.progress(key, loaded));
        this.inFlight.delete(key);
        this.storedBytes += body.size;
        this.report();
        return etag;
      } catch (e) {
        this.progress(key, 0);
        if (!(e instanceof PutError) || !e.retryable || attempt + 1 >= PART_ATTEMPTS) throw e;
        if (e.status === 403) await this.renew(); // expired, or a clock off by more than the margin
        await sleep(backoffMs(attempt));
      }
    }
  }

  /** One renewal for every part waiting on it. */
  private renew(): Promise<void> {
    this.renewing ??= this.client
      .mutate({ mutation: RenewUploadUrlsMutation, variables: { id: this.session.asset.id } })
      .then(({ data }) => void (this.session = data!.renewUploadUrls))
      .finally(() => (this.renewing = null));
    return this.renewing;
  }

  private progress(key: number, loaded: number): void {
    this.inFlight.set(key, loaded);
    this.report();
  }

  private report(): void {
    let loaded = this.storedBytes;
    for (const bytes of this.inFlight.values()) loaded += bytes;
    const total = this.file.size;
    this.meter.sample(loaded - this.resumedBytes, performance.now());
    const { bytesPerSecond, secondsLeft } = this.meter.estimate(total - loaded);
    this.hooks.onProgress({ loaded, total, resumedBytes: this.resumedBytes, bytesPerSecond, secondsLeft });
  }
}

/** One PUT with progress; resolves with the response's ETag header. */
function put(url: string, body: Blob, headers: readonly (readonly [string, string])[], onProgress: (loaded: number) => void): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    // "exactly as given" (contract); Content-Length is the browser's to set.
    for (const [name, value] of headers) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(xhr.getResponseHeader('ETag'))
        : reject(new PutError(xhr.status, `storage refused the upload (HTTP ${xhr.status})`));
    xhr.onerror = () => reject(new PutError(0, 'network error while uploading'));
    xhr.onabort = () => reject(new Error('upload aborted'));
    xhr.send(body);
  });
}
