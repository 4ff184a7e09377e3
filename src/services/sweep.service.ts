import type { AssetRepository } from '../db/asset.repository.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import type { Logger } from '../log.js';
import { OUTPUT_PREFIX, UPLOAD_PREFIX, assetIdOfKey, uploadKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';

export interface SweepResult {
  expired: number;
  orphansDeleted: string[];
}

const BATCH = 100;

/** An object under uploads/ may only exist while its asset can still use it. */
const KEEPS_ORIGINAL = new Set([AssetStatus.AWAITING_UPLOAD, AssetStatus.QUEUED, AssetStatus.PROCESSING]);
/** An object under audio/ is the result of a DONE asset, or being written for a PROCESSING/QUEUED (retry) one. */
const KEEPS_OUTPUT = new Set([AssetStatus.QUEUED, AssetStatus.PROCESSING, AssetStatus.DONE]);

/**
 * Nothing a client starts and abandons stays forever: expired uploads end
 * FAILED UPLOAD_EXPIRED with their object (or multipart upload) removed, and
 * objects that belong to no live asset (a PUT through an old URL after the
 * asset ended, a crash between steps, a delete racing a worker) are deleted.
 */
export class SweepService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: { uploadExpiryGraceSeconds: number },
  ) {}

  async run(log: Logger): Promise<SweepResult> {
    const expired = await this.expireUploads(log);
    const orphansDeleted = [
      ...(await this.deleteOrphans(UPLOAD_PREFIX, KEEPS_ORIGINAL)),
      ...(await this.deleteOrphans(OUTPUT_PREFIX, KEEPS_OUTPUT)),
    ];
    if (expired || orphansDeleted.length) log.info({ expired, orphans: orphansDeleted.length }, 'sweep');
    return { expired, orphansDeleted };
  }

  private async expireUploads(log: Logger): Promise<number> {
    const before = new Date(Date.now() - this.config.uploadExpiryGraceSeconds * 1000);
    let count = 0;
    for (;;) {
      const batch = await this.assets.findExpiredUploads(before, BATCH);
      for (const asset of batch) {
        // The status moves first (guarded): a completion racing the sweep wins
        // or loses as a whole, and only a loser's object is removed.
        const failed = await this.assets.fail(asset.id, AssetErrorCode.UPLOAD_EXPIRED, ASSET_ERROR_MESSAGES.UPLOAD_EXPIRED, [
          AssetStatus.AWAITING_UPLOAD,
        ]);
        if (!failed) continue;
        count++;
        if (asset.multipartUploadId) {
          const aborted = await this.storage.abortMultipart(uploadKey(asset.id), asset.multipartUploadId);
          if (!aborted) log.warn({ assetId: asset.id }, 'the storage did not abort a multipart upload (its lifecycle rule will)');
        }
        await this.storage.delete(uploadKey(asset.id));
      }
      if (batch.length < BATCH) return count;
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
