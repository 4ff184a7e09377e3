import type { OptionalProps } from '@mikro-orm/core';
import type { AudioAssetEntity } from './audio-asset.entity.js';
import type { AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import { parseWaveformLevels } from '../domain/waveform-level.js';

/*
 * The audio_asset row as the repository's raw SQL sees it: the fields of an
 * insert, the columns a patch may set, the column list, and the row-to-entity
 * mapping that skips MikroORM's constructors.
 */

export interface NewAsset {
  id: string;
  ownerId: string;
  filename: string;
  size: number;
  contentType: string;
  uploadExpiresAt: Date;
  multipartUploadId?: string | null;
  loudnessTarget?: number | null;
  renditionsRequested?: string[];
}

export type AssetPatch = Partial<
  Pick<
    AudioAssetEntity,
    | 'detectedType' | 'progress' | 'durationSeconds' | 'envelope' | 'waveformLevels' | 'errorCode' | 'errorMessage' | 'uploadExpiresAt' | 'multipartUploadId'
    | 'loudnessIntegrated' | 'loudnessRange' | 'loudnessTruePeak' | 'loudnessMeasuredAt' | 'renditionSizes'
  >
>;

/** Every column but the envelope (loaded only for waveforms). */
export const COLUMNS =
  'id, owner_id, status, filename, size, content_type, detected_type, progress, duration_seconds, waveform_levels, ' +
  'error_code, error_message, version, multipart_upload_id, upload_expires_at, created_at, updated_at, ' +
  'loudness_integrated, loudness_range, loudness_true_peak, loudness_measured_at, loudness_target, renditions_requested, rendition_sizes';

/** The columns a patch may set, by entity property. */
export const PATCH_COLUMNS: Record<keyof AssetPatch, string> = {
  detectedType: 'detected_type',
  progress: 'progress',
  durationSeconds: 'duration_seconds',
  envelope: 'envelope',
  waveformLevels: 'waveform_levels',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  uploadExpiresAt: 'upload_expires_at',
  multipartUploadId: 'multipart_upload_id',
  loudnessIntegrated: 'loudness_integrated',
  loudnessRange: 'loudness_range',
  loudnessTruePeak: 'loudness_true_peak',
  loudnessMeasuredAt: 'loudness_measured_at',
  renditionSizes: 'rendition_sizes',
};

export const PATCH_KEYS = Object.keys(PATCH_COLUMNS) as (keyof AssetPatch)[];
/** A patch value as a query parameter: node-postgres sends a JS array as a PostgreSQL array, so jsonb goes as text. */
export function patchValue(patch: AssetPatch, key: keyof AssetPatch): unknown {
  return key === 'waveformLevels' ? JSON.stringify(patch.waveformLevels) : patch[key];
}

export interface AssetRow {
  id: string;
  owner_id: string;
  status: AssetStatus;
  filename: string;
  size: string;
  content_type: string;
  detected_type: string | null;
  progress: number | null;
  duration_seconds: number | null;
  waveform_levels: unknown;
  error_code: AssetErrorCode | null;
  error_message: string | null;
  version: number;
  multipart_upload_id: string | null;
  upload_expires_at: Date;
  created_at: Date;
  updated_at: Date;
  loudness_integrated: number | null;
  loudness_range: number | null;
  loudness_true_peak: number | null;
  loudness_measured_at: Date | null;
  loudness_target: number | null;
  renditions_requested: string[];
  rendition_sizes: Record<string, number>;
}

/**
 * A plain object of the entity's shape, not an ORM-managed instance (these
 * rows never go back through an EntityManager): constructing the class runs
 * MikroORM's property setters, ~10-15 µs a row on the API's hot path.
 */
export function toEntity(r: AssetRow): AudioAssetEntity {
  const asset = {
    id: r.id,
    ownerId: r.owner_id,
    status: r.status,
    filename: r.filename,
    size: Number(r.size),
    contentType: r.content_type,
    detectedType: r.detected_type,
    progress: r.progress,
    durationSeconds: r.duration_seconds,
    envelope: null,
    waveformLevels: parseWaveformLevels(r.waveform_levels),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    version: r.version,
    multipartUploadId: r.multipart_upload_id,
    uploadExpiresAt: r.upload_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    loudnessIntegrated: r.loudness_integrated,
    loudnessRange: r.loudness_range,
    loudnessTruePeak: r.loudness_true_peak,
    loudnessMeasuredAt: r.loudness_measured_at,
    loudnessTarget: r.loudness_target,
    renditionsRequested: r.renditions_requested,
    renditionSizes: r.rendition_sizes,
  } satisfies Omit<AudioAssetEntity, typeof OptionalProps>;
  return asset as AudioAssetEntity;
}
