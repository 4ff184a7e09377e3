import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { inTransaction } from '../db/pool.js';
import type { QuotaService } from './quota.service.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import { ApiError, badInput, notFound } from '../domain/errors.js';
import { jobFairness } from '../domain/fairness.js';
import { type UploadedPart, planParts, validateUploadedParts } from '../domain/multipart.js';
import { type UploadRequest, validateUploadRequest } from '../domain/upload-policy.js';
import { parseProcessingOptions } from '../domain/processing-options.js';
import type { JobQueue } from '../jobs/queue.js';
import { UploadPartRepository } from '../db/upload-part.repository.js';
import { listStoredParts } from '../storage/list-parts.js';
import { uploadKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';

export interface UploadsConfig {
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
  multipartThresholdBytes: number;
  multipartPartBytes: number;
}

export interface PreparedUploadResult {
  asset: AudioAssetEntity;
  uploadUrl: string | null;
  uploadHeaders: { name: string; value: string }[];
  multipart: { partSize: number; parts: { partNumber: number; url: string }[] } | null;
  expiresAt: Date;
  /** Parts of a multipart upload already stored (renewUploadUrls: what a resumed upload skips). */
  uploadedParts: UploadedPart[];
}

/** Longer than any ETag S3-compatible storage returns (a quoted MD5, or MD5-N for a copy). */
const MAX_ETAG_LENGTH = 200;

const uploadNotFound = (detail: string) => new ApiError('UPLOAD_NOT_FOUND', detail);

/** The upload use cases: prepare (presign), renew URLs, complete (verify + queue). */
export class UploadsService {
  private readonly parts: UploadPartRepository;

  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly pool: pg.Pool,
    private readonly queue: JobQueue,
    private readonly config: UploadsConfig,
    private readonly quotas: QuotaService,
  ) {
    this.parts = new UploadPartRepository(pool);
  }

  async prepare(
    ownerId: string,
    input: UploadRequest & { loudnessTarget?: number | null; renditions?: readonly string[] | null },
  ): Promise<PreparedUploadResult> {
    validateUploadRequest(input, this.config.maxUploadBytes);
    const options = parseProcessingOptions(input);
    const id = randomUUID();
    const expiresAt = this.expiry();
    // The row first: a failing insert or a refused quota (QUOTA_EXCEEDED) leaves nothing in storage.
    const created = await this.quotas.createAsset({
      id,
      ownerId,
      filename: input.filename,
      size: input.size,
      contentType: input.contentType,
      uploadExpiresAt: expiresAt,
      loudnessTarget: options.loudnessTarget,
      renditionsRequested: options.renditions,
    });
    const asset = input.size >= this.config.multipartThresholdBytes ? await this.startMultipart(created) : created;
    return this.sign(asset, expiresAt);
  }

  /**
   * Opens the multipart upload of a new row and records its id. Whatever
   * fails, nothing is left: not the row (the client got an error and no id),
   * not the upload (the sweep only sees uploads that a row names).
   */
  private async startMultipart(asset: AudioAssetEntity): Promise<AudioAssetEntity> {
    const key = uploadKey(asset.id);
    let uploadId: string | null = null;
    try {
      uploadId = await this.storage.createMultipart(key, { contentType: asset.contentType });
      const updated = await this.assets.moveTo(asset.id, AssetStatus.AWAITING_UPLOAD, { multipartUploadId: uploadId }, [AssetStatus.AWAITING_UPLOAD]);
      if (!updated) throw new Error('the new asset row vanished before its multipart upload was recorded');
      return updated;
    } catch (e) {
      if (uploadId) await this.storage.abortMultipart(key, uploadId).catch(() => false);
      await this.assets.deleteOwned(asset.id, asset.ownerId).catch(() => null);
      throw e;
    }
  }

  /**
   * Fresh URLs for an upload still AWAITING_UPLOAD (same key, same multipart
   * upload: parts already PUT stay valid), and a later expiry for the sweep.
   */
  async renew(ownerId: string, id: string): Promise<PreparedUploadResult> {
    const asset = await this.assets.findOwned(id, ownerId);
    if (!asset) throw notFound();
    if (asset.status !== AssetStatus.AWAITING_UPLOAD) {
      throw badInput(`the upload is ${asset.status}: only an upload awaiting its file can get new URLs`, 'id');
    }
    const expiresAt = this.expiry();
    const renewed = await this.assets.moveTo(id, AssetStatus.AWAITING_UPLOAD, { uploadExpiresAt: expiresAt }, [AssetStatus.AWAITING_UPLOAD]);
    if (!renewed) throw badInput('the upload is no longer awaiting its file', 'id');
    return { ...(await this.sign(renewed, expiresAt)), uploadedParts: await this.storedParts(renewed) };
  }

  /**
   * Records a part the client has stored and the ETag storage gave it, so a
   * reloaded page can resume without sending it again (renew lists it).
   */
  async recordPart(ownerId: string, id: string, part: UploadedPart): Promise<UploadedPart> {
    const asset = await this.assets.findOwned(id, ownerId);
    if (!asset) throw notFound();
    if (asset.status !== AssetStatus.AWAITING_UPLOAD || !asset.multipartUploadId) {
      throw badInput(`the upload is ${asset.status}${asset.multipartUploadId ? '' : ' and not multipart'}: only parts of a multipart upload awaiting its file are recorded`, 'id');
    }
    const count = planParts(asset.size, this.config.multipartPartBytes).parts.length;
    if (!Number.isInteger(part.partNumber) || part.partNumber < 1 || part.partNumber > count) {
      throw badInput(`partNumber must be 1..${count}`, 'partNumber');
    }
    const etag = part.etag.trim();
    if (etag === '' || etag.length > MAX_ETAG_LENGTH) throw badInput(`etag must be the ETag header storage returned (1-${MAX_ETAG_LENGTH} characters)`, 'etag');
    const recorded = { partNumber: part.partNumber, etag };
    await this.parts.record(id, recorded);
    return recorded;
  }

  /** Parts already stored: the storage's own list where it has ListParts, else the parts record. */
  private async storedParts(asset: AudioAssetEntity): Promise<UploadedPart[]> {
    if (!asset.multipartUploadId) return [];
    const listed = await listStoredParts(this.storage.client, this.storage.bucket, uploadKey(asset.id), asset.multipartUploadId);
    return listed ?? (await this.parts.list(asset.id));
  }

  private expiry(): Date {
    return new Date(Date.now() + this.config.uploadUrlTtlSeconds * 1000);
  }

  private async sign(asset: AudioAssetEntity, expiresAt: Date): Promise<PreparedUploadResult> {
    const key = uploadKey(asset.id);
    const ttl = this.config.uploadUrlTtlSeconds;
    if (!asset.multipartUploadId) {
      const uploadUrl = await this.storage.presignPut(key, asset.contentType, asset.size, ttl);
      return { asset, uploadUrl, uploadHeaders: [{ name: 'Content-Type', value: asset.contentType }], multipart: null, expiresAt, uploadedParts: [] };
    }
    const plan = planParts(asset.size, this.config.multipartPartBytes);
    const uploadId = asset.multipartUploadId;
    const parts = await Promise.all(
      plan.parts.map(async (p) => ({
        partNumber: p.partNumber,
        url: await this.storage.presignPart(key, uploadId, p.partNumber, p.length, ttl),
      })),
    );
    return { asset, uploadUrl: null, uploadHeaders: [], multipart: { partSize: plan.partSize, parts }, expiresAt, uploadedParts: [] };
  }

  /**
   * Confirms the upload. Idempotent: an asset past AWAITING_UPLOAD is returned
   * unchanged. The status move and the job insert share one transaction, so
   * concurrent calls make exactly one job and a crash cannot leave a QUEUED
   * asset without one.
   */
  async complete(ownerId: string, id: string, parts?: UploadedPart[] | null): Promise<AudioAssetEntity> {
    const asset = await this.assets.findOwned(id, ownerId);
    if (!asset) throw notFound();
    if (asset.status !== AssetStatus.AWAITING_UPLOAD) return asset;
    if (asset.multipartUploadId) await this.completeMultipart(asset, parts);
    else if (parts && parts.length > 0) throw badInput('parts are only for multipart uploads; this one is a single PUT', 'parts');

    const head = await this.storage.head(uploadKey(id));
    if (!head) throw uploadNotFound('the file has not been uploaded yet: PUT it to uploadUrl, then complete again');
    if (head.size !== asset.size) {
      await this.storage.delete(uploadKey(id));
      const failed = await this.assets.fail(
        id,
        AssetErrorCode.SIZE_MISMATCH,
        `${ASSET_ERROR_MESSAGES.SIZE_MISMATCH} (declared ${asset.size} bytes, received ${head.size})`,
        [AssetStatus.AWAITING_UPLOAD],
      );
      return failed ?? (await this.current(id));
    }

    const queued = await inTransaction(this.pool, async (client) => {
      const moved = await this.assets.queueOn(client, id);
      // The job pins the original by the ETag checked here (jobs/queue.ts).
      if (moved) {
        // Its lane's priority and the owner's group: pg-boss claims voice notes first and caps each user's share (domain/fairness.ts).
        await this.queue.enqueueProcessing({ assetId: id, etag: head.etag }, client, jobFairness(ownerId, moved.size));
        await this.parts.clear(client, id);
      }
      return moved;
    });
    // The asset as this call queued it: a worker woken by the job's NOTIFY
    // may have moved it on already (its events say so), and the answer must
    // not depend on that race. A racing call that queued nothing returns it as it is.
    return queued ?? this.current(id);
  }

  /**
   * Assembles the parts. Nothing is aborted on a bad list or a missing part:
   * the client re-sends what is missing and completes again.
   */
  private async completeMultipart(asset: AudioAssetEntity, parts: UploadedPart[] | null | undefined): Promise<void> {
    const expected = planParts(asset.size, this.config.multipartPartBytes).parts.length;
    const valid = validateUploadedParts(parts, expected);
    const result = await this.storage.completeMultipart(uploadKey(asset.id), asset.multipartUploadId!, valid);
    if (result === 'invalid-part') {
      throw uploadNotFound('the storage does not have every part with the ETag given: PUT the missing parts again, then complete');
    }
    // 'missing' is also what a second complete after a completed assembly sees: the HEAD that follows decides.
  }

  private async current(id: string): Promise<AudioAssetEntity> {
    const asset = await this.assets.findById(id);
    if (!asset) throw notFound();
    return asset;
  }
}
