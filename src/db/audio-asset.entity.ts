import { OptionalProps } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import type { WaveformLevel } from '../domain/waveform-level.js';

/**
 * One uploaded file and what processing made of it. Every column has an
 * explicit type: MikroORM 7 does not read TypeScript types by itself.
 * The table carries a trigger (see migrations) that NOTIFYs every change.
 */
@Entity({ tableName: 'audio_asset' })
@Index({ properties: ['ownerId', 'createdAt', 'id'] })
export class AudioAssetEntity {
  [OptionalProps]?:
    | 'status'
    | 'detectedType'
    | 'progress'
    | 'durationSeconds'
    | 'envelope'
    | 'waveformLevels'
    | 'errorCode'
    | 'errorMessage'
    | 'version'
    | 'multipartUploadId'
    | 'loudnessIntegrated'
    | 'loudnessRange'
    | 'loudnessTruePeak'
    | 'loudnessTarget'
    | 'loudnessMeasuredAt'
    | 'renditionsRequested'
    | 'renditionSizes'
    | 'createdAt'
    | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text' })
  ownerId!: string;

  @Property({ type: 'text' })
  status: AssetStatus = 'AWAITING_UPLOAD' as AssetStatus;

  @Property({ type: 'text' })
  filename!: string;

  @Property({ type: 'bigint', runtimeType: 'number' })
  size!: number;

  @Property({ type: 'text' })
  contentType!: string;

  @Property({ type: 'text', nullable: true })
  detectedType: string | null = null;

  @Property({ type: 'double', nullable: true })
  progress: number | null = null;

  @Property({ type: 'double', nullable: true })
  durationSeconds: number | null = null;

  /** Peak envelope (src/analysis/peaks.ts encodeEnvelope), loaded only for waveforms. */
  @Property({ type: 'blob', nullable: true, lazy: true })
  envelope: Buffer | null = null;

  /** Zoom levels of the stored waveform data; null until DONE and for assets DONE before levels existed. */
  @Property({ type: 'json', nullable: true })
  waveformLevels: WaveformLevel[] | null = null;

  @Property({ type: 'text', nullable: true })
  errorCode: AssetErrorCode | null = null;

  @Property({ type: 'text', nullable: true })
  errorMessage: string | null = null;

  /** Bumped by every UPDATE (trigger); events carry it so clients can order them. */
  @Property({ type: 'integer' })
  version: number = 1;

  @Property({ type: 'text', nullable: true })
  multipartUploadId: string | null = null;

  /** Measured loudness (src/analysis/loudness.ts); null for silence and for assets processed before it. */
  @Property({ type: 'double', nullable: true })
  loudnessIntegrated: number | null = null;

  @Property({ type: 'double', nullable: true })
  loudnessRange: number | null = null;

  @Property({ type: 'double', nullable: true })
  loudnessTruePeak: number | null = null;

  /** When loudness was measured (null loudness then means silence); null: not yet (the backfill's work). */
  @Property({ type: 'timestamptz', nullable: true })
  loudnessMeasuredAt: Date | null = null;

  /** prepareAudioUpload's loudnessTarget, LUFS. */
  @Property({ type: 'double', nullable: true })
  loudnessTarget: number | null = null;

  /** prepareAudioUpload's renditions (RenditionFormat values). */
  @Property({ type: 'text[]' })
  renditionsRequested: string[] = [];

  /** Bytes of each rendition made, by RenditionFormat. */
  @Property({ type: 'json' })
  renditionSizes: Record<string, number> = {};

  /** When the presigned upload URL(s) stop working. */
  @Property({ type: 'timestamptz' })
  uploadExpiresAt!: Date;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
