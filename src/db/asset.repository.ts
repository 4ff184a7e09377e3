import type { FilterQuery } from '@mikro-orm/core';
import { AudioAssetEntity } from './audio-asset.entity.js';
import type { Orm } from './orm.js';
import { type AssetErrorCode, AssetStatus, predecessorsOf } from '../domain/asset-status.js';
import type { Cursor } from '../domain/asset.js';

export interface NewAsset {
  id: string;
  ownerId: string;
  filename: string;
  size: number;
  contentType: string;
  uploadExpiresAt: Date;
  multipartUploadId?: string | null;
}

export type AssetPatch = Partial<
  Pick<
    AudioAssetEntity,
    'detectedType' | 'progress' | 'durationSeconds' | 'envelope' | 'errorCode' | 'errorMessage' | 'uploadExpiresAt'
  >
>;

/** Every read and write of the audio_asset table. Status moves are guarded in SQL. */
export class AssetRepository {
  constructor(private readonly orm: Orm) {}

  private em() {
    return this.orm.em.fork();
  }

  async create(fields: NewAsset): Promise<AudioAssetEntity> {
    const em = this.em();
    const asset = em.create(AudioAssetEntity, { ...fields, multipartUploadId: fields.multipartUploadId ?? null });
    await em.flush();
    return asset;
  }

  findById(id: string): Promise<AudioAssetEntity | null> {
    return this.em().findOne(AudioAssetEntity, { id });
  }

  findOwned(id: string, ownerId: string): Promise<AudioAssetEntity | null> {
    return this.em().findOne(AudioAssetEntity, { id, ownerId });
  }

  /** Newest first; one extra row tells whether there is a next page. */
  async listOwned(
    ownerId: string,
    options: { first: number; after: Cursor | null; status: AssetStatus | null },
  ): Promise<{ nodes: AudioAssetEntity[]; hasNextPage: boolean }> {
    const where: FilterQuery<AudioAssetEntity> = { ownerId };
    if (options.status) where.status = options.status;
    if (options.after) {
      const { createdAt, id } = options.after;
      where.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }];
    }
    const rows = await this.em().find(AudioAssetEntity, where, {
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      limit: options.first + 1,
    });
    return { nodes: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
  }

  /**
   * Moves an asset to `to` only from a status the state machine allows
   * (domain/asset-status.ts), in one guarded UPDATE so concurrent callers
   * cannot both win. Returns the updated row, or null when it did not move.
   */
  async moveTo(id: string, to: AssetStatus, patch: AssetPatch = {}, from?: AssetStatus[]): Promise<AudioAssetEntity | null> {
    const allowed = from ?? predecessorsOf(to);
    const changed = await this.em().nativeUpdate(AudioAssetEntity, { id, status: { $in: allowed } }, { ...patch, status: to });
    return changed ? this.findById(id) : null;
  }

  fail(id: string, code: AssetErrorCode, message: string, from?: AssetStatus[]): Promise<AudioAssetEntity | null> {
    return this.moveTo(id, AssetStatus.FAILED, { errorCode: code, errorMessage: message, progress: null }, from);
  }

  /** Raises progress of a PROCESSING asset; never lowers it (also across retries). */
  async raiseProgress(id: string, progress: number): Promise<boolean> {
    const changed = await this.em().nativeUpdate(
      AudioAssetEntity,
      { id, status: AssetStatus.PROCESSING, $or: [{ progress: null }, { progress: { $lt: progress } }] },
      { progress },
    );
    return changed > 0;
  }

  /** Uploads still awaiting their file whose URLs expired before `before`. */
  findExpiredUploads(before: Date, limit: number): Promise<AudioAssetEntity[]> {
    return this.em().find(
      AudioAssetEntity,
      { status: AssetStatus.AWAITING_UPLOAD, uploadExpiresAt: { $lt: before } },
      { orderBy: { uploadExpiresAt: 'asc' }, limit },
    );
  }

  /** Status of each id that still exists. */
  async statuses(ids: string[]): Promise<Map<string, AssetStatus>> {
    if (ids.length === 0) return new Map();
    const rows = await this.em().find(AudioAssetEntity, { id: { $in: ids } }, { fields: ['id', 'status'] });
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  async loadEnvelope(id: string): Promise<Buffer | null> {
    const row = await this.em().findOne(AudioAssetEntity, { id }, { fields: ['id', 'envelope'] });
    return row?.envelope ?? null;
  }

  /** Deletes the row; returns what was deleted (null when there was nothing). */
  async deleteOwned(id: string, ownerId: string): Promise<AudioAssetEntity | null> {
    const em = this.em();
    const row = await em.findOne(AudioAssetEntity, { id, ownerId });
    if (!row) return null;
    const n = await em.nativeDelete(AudioAssetEntity, { id, ownerId });
    return n ? row : null;
  }

  async ping(): Promise<void> {
    await this.em().execute('select 1');
  }
}
