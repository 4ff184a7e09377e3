import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { bossDb, inTransaction } from '../db/pool.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import { ApiError, notFound } from '../domain/errors.js';
import { type UploadRequest, validateUploadRequest } from '../domain/upload-policy.js';
import { PROCESS_AUDIO_QUEUE, type ProcessAudioData } from '../jobs/queue.js';
import { uploadKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';

export interface UploadsConfig {
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
}

export interface PreparedUploadResult {
  asset: AudioAssetEntity;
  uploadUrl: string;
  uploadHeaders: { name: string; value: string }[];
  expiresAt: Date;
}

/** The upload use cases: prepare (presign), complete (verify + queue), delete. */
export class UploadsService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly config: UploadsConfig,
  ) {}

  async prepare(ownerId: string, input: UploadRequest): Promise<PreparedUploadResult> {
    validateUploadRequest(input, this.config.maxUploadBytes);
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + this.config.uploadUrlTtlSeconds * 1000);
    // Sign first: a storage failure then leaves no row behind.
    const uploadUrl = await this.storage.presignPut(
      uploadKey(id),
      input.contentType,
      input.size,
      this.config.uploadUrlTtlSeconds,
    );
    const asset = await this.assets.create({
      id,
      ownerId,
      filename: input.filename,
      size: input.size,
      contentType: input.contentType,
      uploadExpiresAt: expiresAt,
    });
    return { asset, uploadUrl, uploadHeaders: [{ name: 'Content-Type', value: input.contentType }], expiresAt };
  }

  /**
   * Confirms the upload. Idempotent: an asset past AWAITING_UPLOAD is returned
   * unchanged. The status move and the job insert share one transaction, so
   * concurrent calls make exactly one job and a crash cannot leave a QUEUED
   * asset without one.
   */
  async complete(ownerId: string, id: string): Promise<AudioAssetEntity> {
    const asset = await this.assets.findOwned(id, ownerId);
    if (!asset) throw notFound();
    if (asset.status !== AssetStatus.AWAITING_UPLOAD) return asset;

    const head = await this.storage.head(uploadKey(id));
    if (!head) {
      throw new ApiError('UPLOAD_NOT_FOUND', 'the file has not been uploaded yet: PUT it to uploadUrl, then complete again');
    }
    if (head.size !== asset.size) {
      const failed = await this.assets.fail(
        id,
        AssetErrorCode.SIZE_MISMATCH,
        `${ASSET_ERROR_MESSAGES.SIZE_MISMATCH} (declared ${asset.size} bytes, received ${head.size})`,
        [AssetStatus.AWAITING_UPLOAD],
      );
      await this.storage.delete(uploadKey(id));
      return failed ?? (await this.current(id));
    }

    await inTransaction(this.pool, async (client) => {
      const moved = await client.query(
        `update audio_asset set status = $2 where id = $1 and status = $3 returning id`,
        [id, AssetStatus.QUEUED, AssetStatus.AWAITING_UPLOAD],
      );
      if (moved.rowCount) {
        const data: ProcessAudioData = { assetId: id };
        await this.boss.send(PROCESS_AUDIO_QUEUE, data, { db: bossDb(client) });
      }
    });
    return this.current(id);
  }

  private async current(id: string): Promise<AudioAssetEntity> {
    const asset = await this.assets.findById(id);
    if (!asset) throw notFound();
    return asset;
  }
}
