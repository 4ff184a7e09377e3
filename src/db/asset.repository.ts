import type { FilterQuery } from '@mikro-orm/core';
import type pg from 'pg';
import { AudioAssetEntity } from './audio-asset.entity.js';
import type { Orm } from './orm.js';
import { type AssetPatch, type AssetRow, COLUMNS, type NewAsset, PATCH_COLUMNS, PATCH_KEYS, patchValue, toEntity } from './asset-row.js';
import { type AssetErrorCode, AssetStatus, predecessorsOf } from '../domain/asset-status.js';
import type { Cursor, LoudnessColumns } from '../domain/asset.js';
import type { QuotaLimits } from '../domain/quota.js';
import type { WaveformLevel } from '../domain/waveform-level.js';

/** A DONE asset the backfill owes something (services/backfill.service.ts). */
export interface BackfillItem {
  id: string;
  needsLoudness: boolean;
  needsLevels: boolean;
}

/** What a new asset is inserted with ($1-$9): `create` and `createWithinQuota` insert the same row. */
const NEW_ASSET_COLUMNS =
  'id, owner_id, filename, size, content_type, upload_expires_at, multipart_upload_id, loudness_target, renditions_requested';
const newAssetValues = (f: NewAsset): unknown[] => [
  f.id, f.ownerId, f.filename, f.size, f.contentType, f.uploadExpiresAt, f.multipartUploadId ?? null, f.loudnessTarget ?? null, f.renditionsRequested ?? [],
];

/**
 * Every read and write of the audio_asset table. Status moves are guarded in SQL.
 *
 * The per-request and per-job statements (create, find, move, progress) are
 * single prepared statements on the pg pool, each one round trip: measured
 * through MikroORM they cost 2-3 round trips (BEGIN/INSERT/COMMIT, UPDATE then
 * SELECT) and ~0.5 ms of CPU apiece in the ORM (BENCHMARKS.md). The ORM keeps
 * the schema, migrations and the less frequent queries.
 */
export class AssetRepository {
  constructor(
    private readonly orm: Orm,
    private readonly pool: pg.Pool,
  ) {}

  private em() {
    return this.orm.em.fork();
  }

  private async one(name: string, text: string, values: unknown[]): Promise<AudioAssetEntity | null> {
    const { rows } = await this.pool.query<AssetRow>({ name, text, values });
    return rows[0] ? toEntity(rows[0]) : null;
  }

  async create(fields: NewAsset): Promise<AudioAssetEntity> {
    const created = await this.one(
      'asset_create',
      `insert into audio_asset (${NEW_ASSET_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${COLUMNS}`,
      newAssetValues(fields),
    );
    return created!;
  }

  /**
   * Inserts the asset only if the owner's quotas allow it, in one statement
   * (one round trip, its own transaction): the CTE upserts the owner's usage
   * row, which locks it, and its WHERE checks the latest committed counters
   * (ON CONFLICT DO UPDATE re-reads the row after waiting for its lock), so
   * one owner's concurrent prepares on any API process are decided one after
   * another. The insert trigger then adds the size (migration 20261206000030).
   * Null when refused: nothing was inserted.
   */
  async createWithinQuota(fields: NewAsset, limits: QuotaLimits): Promise<AudioAssetEntity | null> {
    return this.one(
      'asset_create_within_quota',
      `with gate as (
         insert into owner_usage as u (owner_id) select $2 where $10::bigint = 0 or $4::bigint <= $10::bigint
         on conflict (owner_id) do update set owner_id = excluded.owner_id
           where ($10::bigint = 0 or u.stored_bytes + $4::bigint <= $10::bigint)
             and ($11::float8 = 0 or u.audio_day <> (now() at time zone 'utc')::date or u.audio_seconds < $11::float8)
         returning 1)
       insert into audio_asset (${NEW_ASSET_COLUMNS})
       select $1, $2, $3, $4, $5, $6, $7, $8, $9 where exists (select 1 from gate) returning ${COLUMNS}`,
      [...newAssetValues(fields), limits.storedBytesPerUser, limits.audioSecondsPerDay],
    );
  }

  /**
   * AWAITING_UPLOAD -> QUEUED inside the caller's transaction (with the job's
   * insert): the row as this move left it, or null when it had moved already.
   */
  async queueOn(client: pg.PoolClient, id: string): Promise<AudioAssetEntity | null> {
    const { rows } = await client.query<AssetRow>({
      name: 'asset_queue',
      text: `update audio_asset set status = $2 where id = $1 and status = $3 returning ${COLUMNS}`,
      values: [id, AssetStatus.QUEUED, AssetStatus.AWAITING_UPLOAD],
    });
    return rows[0] ? toEntity(rows[0]) : null;
  }

  findById(id: string): Promise<AudioAssetEntity | null> {
    return this.one('asset_by_id', `select ${COLUMNS} from audio_asset where id = $1`, [id]);
  }

  findOwned(id: string, ownerId: string): Promise<AudioAssetEntity | null> {
    return this.one('asset_owned', `select ${COLUMNS} from audio_asset where id = $1 and owner_id = $2`, [id, ownerId]);
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
    const keys = (Object.keys(patch) as (keyof AssetPatch)[]).filter((k) => patch[k] !== undefined).sort();
    const sets = keys.map((k, i) => `${PATCH_COLUMNS[k]} = $${i + 4}`);
    // One statement per set of patched columns: prepared once per connection.
    return this.one(
      // Named by the columns' positions: PostgreSQL cuts statement names at 63 characters.
      `asset_move_${keys.map((k) => PATCH_KEYS.indexOf(k)).join('_')}`,
      `update audio_asset set status = $3${sets.map((x) => `, ${x}`).join('')}
        where id = $1 and status = any($2::text[]) returning ${COLUMNS}`,
      [id, allowed, to, ...keys.map((k) => patchValue(patch, k))],
    );
  }

  fail(id: string, code: AssetErrorCode, message: string, from?: AssetStatus[]): Promise<AudioAssetEntity | null> {
    return this.moveTo(id, AssetStatus.FAILED, { errorCode: code, errorMessage: message, progress: null }, from);
  }

  /** Raises progress of a PROCESSING asset; never lowers it (also across retries). */
  async raiseProgress(id: string, progress: number): Promise<boolean> {
    const { rowCount } = await this.pool.query({
      name: 'asset_raise_progress',
      text: `update audio_asset set progress = $2
              where id = $1 and status = 'PROCESSING' and (progress is null or progress < $2)`,
      values: [id, progress],
    });
    return (rowCount ?? 0) > 0;
  }

  /** Uploads still awaiting their file whose URLs expired before `before`. */
  findExpiredUploads(before: Date, limit: number): Promise<AudioAssetEntity[]> {
    return this.em().find(
      AudioAssetEntity,
      { status: AssetStatus.AWAITING_UPLOAD, uploadExpiresAt: { $lt: before } },
      { orderBy: { uploadExpiresAt: 'asc' }, limit },
    );
  }

  /** Ids of ended assets (DONE or FAILED) whose upload URL expired in [from, to): a late PUT can land no more. */
  async findEndedWithUploadUrlExpired(from: Date, to: Date, limit: number, afterId?: string): Promise<string[]> {
    const rows = await this.em().find(
      AudioAssetEntity,
      {
        status: { $in: [AssetStatus.DONE, AssetStatus.FAILED] },
        uploadExpiresAt: { $gte: from, $lt: to },
        ...(afterId ? { id: { $gt: afterId } } : {}),
      },
      { fields: ['id'], orderBy: { id: 'asc' }, limit },
    );
    return rows.map((r) => r.id);
  }

  /** Status of each id that still exists. */
  async statuses(ids: string[]): Promise<Map<string, AssetStatus>> {
    if (ids.length === 0) return new Map();
    const rows = await this.em().find(AudioAssetEntity, { id: { $in: ids } }, { fields: ['id', 'status'] });
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** The stored envelopes of these assets, in one query; ids without one are absent. */
  async loadEnvelopes(ids: readonly string[]): Promise<Map<string, Buffer>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; envelope: Buffer }>({
      name: 'asset_envelopes',
      text: 'select id, envelope from audio_asset where id = any($1::uuid[]) and envelope is not null',
      values: [ids],
    });
    return new Map(rows.map((r) => [r.id, r.envelope]));
  }

  /** Deletes the row; returns what was deleted (null when there was nothing). */
  async deleteOwned(id: string, ownerId: string): Promise<AudioAssetEntity | null> {
    const em = this.em();
    const row = await em.findOne(AudioAssetEntity, { id, ownerId });
    if (!row) return null;
    const n = await em.nativeDelete(AudioAssetEntity, { id, ownerId });
    return n ? row : null;
  }

  /** DONE assets that lack what a feature added since they were processed (loudness, waveform levels), oldest first. */
  async backfillBacklog(limit: number): Promise<BackfillItem[]> {
    const { rows } = await this.pool.query<{ id: string; needs_loudness: boolean; needs_levels: boolean }>({
      name: 'asset_backfill_backlog',
      text: `select id, loudness_measured_at is null as needs_loudness, waveform_levels is null as needs_levels from audio_asset
              where status = 'DONE' and (loudness_measured_at is null or waveform_levels is null) order by created_at limit $1`,
      values: [limit],
    });
    return rows.map((r) => ({ id: r.id, needsLoudness: r.needs_loudness, needsLevels: r.needs_levels }));
  }

  /**
   * Records on a DONE asset what the backfill filled in, in one write (one
   * event tells clients), each part only where it is still missing. Null
   * loudness and [] levels mark "could not be made": not tried again.
   */
  async recordBackfill(id: string, fill: { loudness?: LoudnessColumns; levels?: WaveformLevel[] }): Promise<boolean> {
    const l = fill.loudness;
    const { rowCount } = await this.pool.query({
      name: 'asset_record_backfill',
      text: `update audio_asset set
               loudness_integrated = case when $2 and loudness_measured_at is null then $3::double precision else loudness_integrated end,
               loudness_range = case when $2 and loudness_measured_at is null then $4::double precision else loudness_range end,
               loudness_true_peak = case when $2 and loudness_measured_at is null then $5::double precision else loudness_true_peak end,
               loudness_measured_at = case when $2 and loudness_measured_at is null then now() else loudness_measured_at end,
               waveform_levels = coalesce(waveform_levels, $6::jsonb)
             where id = $1 and status = 'DONE'`,
      values: [id, l !== undefined, l?.loudnessIntegrated ?? null, l?.loudnessRange ?? null, l?.loudnessTruePeak ?? null,
        fill.levels ? JSON.stringify(fill.levels) : null],
    });
    return (rowCount ?? 0) > 0;
  }

  async ping(): Promise<void> {
    await this.em().execute('select 1');
  }
}
