import type { AssetRepository } from '../db/asset.repository.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import type { Logger } from '../log.js';
import { OUTPUT_PREFIX, UPLOAD_PREFIX, WAVEFORM_PREFIX, assetIdOfKey, uploadKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';

export interface SweepResult {
  expired: number;
  /** Originals deleted by key because the upload URL of their ended asset expired. */
  lateUploadsDeleted: number;
  /** Keys the full listing deleted (empty unless `full`). */
  orphansDeleted: string[];
}

const BATCH = 100;
/**
 * Expired uploads handled at once. Each is a guarded UPDATE and a DELETE,
 * round trips rather than work: one at a time, 3,000 expiring in one minute
 * took 103 s (bench/findings.md 14). Within the worker's pool of four.
 */
const EXPIRE_IN_PARALLEL = 4;
/**
 * Upload URLs that expired this long ago are still looked at: the sweep runs
 * every minute, so a few missed runs lose nothing. What expired while no
 * sweep ran at all is left to the daily listing.
 */
const LATE_UPLOAD_WINDOW_MS = 5 * 60_000;

/** An object under uploads/ may only exist while its asset can still use it. */
const KEEPS_ORIGINAL = new Set([AssetStatus.AWAITING_UPLOAD, AssetStatus.QUEUED, AssetStatus.PROCESSING]);
/** An object under audio/ is the result of a DONE asset, or being written for a PROCESSING/QUEUED (retry) one. */
const KEEPS_OUTPUT = new Set([AssetStatus.QUEUED, AssetStatus.PROCESSING, AssetStatus.DONE]);

/**
 * Nothing a client starts and abandons stays forever. Each minute's work
 * scales with what expired, not with the bucket: expired uploads (found in
 * the database) end FAILED UPLOAD_EXPIRED with their bytes deleted by key,
 * and the original of an ended asset is deleted by key once its upload URL
 * has expired (a PUT through it after the end is never processed: contract).
 * A daily full listing (`full`) catches what crashes left between steps.
 */
export class SweepService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: { uploadExpiryGraceSeconds: number },
  ) {}

  async run(log: Logger, options: { full?: boolean } = {}): Promise<SweepResult> {
    const expired = await this.expireUploads(log);
    const lateUploadsDeleted = await this.deleteLateUploads();
    const orphansDeleted = options.full
      ? [
          ...(await this.deleteOrphans(UPLOAD_PREFIX, KEEPS_ORIGINAL)),
          ...(await this.deleteOrphans(OUTPUT_PREFIX, KEEPS_OUTPUT)),
          // Waveform levels are outputs too: kept for the same states.
          ...(await this.deleteOrphans(WAVEFORM_PREFIX, KEEPS_OUTPUT)),
        ]
      : [];
    if (expired || orphansDeleted.length) log.info({ expired, lateUploadsDeleted, orphans: orphansDeleted.length }, 'sweep');
    return { expired, lateUploadsDeleted, orphansDeleted };
  }

  private async expireUploads(log: Logger): Promise<number> {
    const before = new Date(Date.now() - this.config.uploadExpiryGraceSeconds * 1000);
    let count = 0;
    for (;;) {
      const batch = await this.assets.findExpiredUploads(before, BATCH);
      await eachInParallel(batch, EXPIRE_IN_PARALLEL, async (asset) => {
        // The status moves first (guarded): a completion racing the sweep wins
        // or loses as a whole, and only a loser's object is removed.
        const failed = await this.assets.fail(asset.id, AssetErrorCode.UPLOAD_EXPIRED, ASSET_ERROR_MESSAGES.UPLOAD_EXPIRED, [
          AssetStatus.AWAITING_UPLOAD,
        ]);
        if (!failed) return;
        count++;
        if (asset.multipartUploadId) {
          const aborted = await this.storage.abortMultipart(uploadKey(asset.id), asset.multipartUploadId);
          if (!aborted) log.warn({ assetId: asset.id }, 'the storage did not abort a multipart upload (its lifecycle rule will)');
        }
        await this.storage.delete(uploadKey(asset.id));
      });
      if (batch.length < BATCH) return count;
    }
  }

  /** Deletes `uploads/<id>` of ended assets whose upload URL expired in the window: one DELETE each, no listing. */
  private async deleteLateUploads(): Promise<number> {
    const now = Date.now();
    const [from, to] = [new Date(now - LATE_UPLOAD_WINDOW_MS), new Date(now)];
    let count = 0;
    for (let after: string | undefined; ; ) {
      const ids = await this.assets.findEndedWithUploadUrlExpired(from, to, BATCH, after);
      await Promise.all(ids.map((id) => this.storage.delete(uploadKey(id))));
      count += ids.length;
      if (ids.length < BATCH) return count;
      after = ids.at(-1);
    }
  }

  private async deleteOrphans(prefix: string, keeps: Set<AssetStatus>): Promise<string[]> {
    const deleted: string[] = [];
    let page: string[] = [];
    const flush = async () => {
      const statuses = await this.assets.statuses(page.map((k) => assetIdOfKey(k)).filter((id): id is string => id !== null));
      for (const key of page) {
        const id = assetIdOfKey(key);
        const status = id ? statuses.get(id) : undefined;
        if (status && keeps.has(status)) continue;
        await this.storage.delete(key);
        deleted.push(key);
      }
      page = [];
    };
    for await (const { key } of this.storage.listKeys(prefix)) {
      page.push(key);
      if (page.length >= BATCH) await flush();
    }
    await flush();
    return deleted;
  }
}

/** Runs `fn` over `items`, at most `width` at a time; stops taking items at the first failure and throws it once the running ones have ended. */
async function eachInParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
}
