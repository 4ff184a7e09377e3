import { type AssetErrorCode, type AssetStatus } from './asset-status.js';
import { type WaveformLevel, parseWaveformLevels } from './waveform-level.js';

/**
 * An asset as the API shows it: what the row holds, minus the envelope and
 * storage internals. Both the ORM entity and a change event fit this shape.
 */
export interface AssetView {
  id: string;
  ownerId: string;
  status: AssetStatus;
  filename: string;
  size: number;
  contentType: string;
  detectedType: string | null;
  progress: number | null;
  durationSeconds: number | null;
  /** Zoom levels of the stored waveform data, finest first; null until DONE (and for assets DONE before levels existed). */
  waveformLevels: WaveformLevel[] | null;
  errorCode: AssetErrorCode | null;
  errorMessage: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Measured loudness (all three set, or all null); absent where a view predates it. */
  loudnessIntegrated?: number | null;
  loudnessRange?: number | null;
  loudnessTruePeak?: number | null;
  /** Bytes of each rendition made, by RenditionFormat. */
  renditionSizes?: Record<string, number>;
}

/** The loudness columns of one measurement: all three set, or all null (digital silence, or could not be measured). */
export interface LoudnessColumns {
  loudnessIntegrated: number | null;
  loudnessRange: number | null;
  loudnessTruePeak: number | null;
}

/** The row as the `asset_events` trigger sends it (to_jsonb of the row: snake_case). */
export function assetFromEventPayload(payload: string): AssetView {
  const r = JSON.parse(payload) as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof r[k] !== 'string') throw new Error(`asset event without ${k}`);
    return r[k] as string;
  };
  const numOrNull = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
  return {
    id: str('id'),
    ownerId: str('owner_id'),
    status: str('status') as AssetStatus,
    filename: str('filename'),
    size: Number(r['size']),
    contentType: str('content_type'),
    detectedType: (r['detected_type'] as string | null) ?? null,
    progress: numOrNull('progress'),
    durationSeconds: numOrNull('duration_seconds'),
    waveformLevels: parseWaveformLevels(r['waveform_levels']),
    errorCode: (r['error_code'] as AssetErrorCode | null) ?? null,
    errorMessage: (r['error_message'] as string | null) ?? null,
    version: Number(r['version']),
    createdAt: new Date(str('created_at')),
    updatedAt: new Date(str('updated_at')),
    loudnessIntegrated: numOrNull('loudness_integrated'),
    loudnessRange: numOrNull('loudness_range'),
    loudnessTruePeak: numOrNull('loudness_true_peak'),
    renditionSizes: sizesOf(r['rendition_sizes']),
  };
}

function sizesOf(v: unknown): Record<string, number> {
  if (!v || typeof v !== 'object') return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** The id in an `asset_deleted` payload (`{ id, owner_id }`), or null when it holds none. */
export function deletedAssetIdFromPayload(payload: string): string | null {
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** Opaque pagination cursor: newest first, ties broken by id. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
}

/** Asset ids are UUIDs, lower case as the server makes them (and PostgreSQL returns them). */
const ASSET_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isAssetId(id: string): boolean {
  return ASSET_ID.test(id);
}

/** A client-supplied id in its canonical (lower-case) form, or null when it cannot be an asset id. */
export function parseAssetId(input: string): string | null {
  const id = input.toLowerCase();
  return isAssetId(id) ? id : null;
}

/** A cursor this API made, or null: nothing forged reaches SQL. */
export function decodeCursor(s: string): Cursor | null {
  if (s.length > 200) return null;
  const parts = Buffer.from(s, 'base64url').toString().split('|');
  if (parts.length !== 2) return null;
  const [iso, id] = parts as [string, string];
  const createdAt = new Date(iso);
  // Only what encodeCursor writes: an ISO date that round-trips, years 1..9999.
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso || !/^\d{4}-/.test(iso) || iso.startsWith('0000')) return null;
  if (!isAssetId(id)) return null;
  return { createdAt, id };
}
