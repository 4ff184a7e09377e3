import type { NewAsset } from '../db/asset-row.js';
import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import type { UsageRepository } from '../db/usage.repository.js';
import { ApiError } from '../domain/errors.js';
import { hasQuota, type QuotaLimits, quotaRefusal, type UsageView, usageView } from '../domain/quota.js';

/**
 * Per-user quotas (stored bytes, audio seconds a day): the asset is created
 * only within them, atomically across API processes, and `usage` shows where
 * the viewer stands.
 */
export class QuotaService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly usage: UsageRepository,
    private readonly limits: QuotaLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates the asset, or throws QUOTA_EXCEEDED (saying which limit and what is left) having created nothing. */
  async createAsset(fields: NewAsset): Promise<AudioAssetEntity> {
    // Without limits there is nothing to serialise: the plain insert (its trigger still counts).
    if (!hasQuota(this.limits)) return this.assets.create(fields);
    // Twice at most: the counters read to explain a refusal may show room again (a delete in between).
    for (let attempt = 0; ; attempt++) {
      const created = await this.assets.createWithinQuota(fields, this.limits);
      if (created) return created;
      const refusal = await this.refusal(fields.ownerId, fields.size);
      if (refusal) throw refusal;
      if (attempt > 0) throw new ApiError('QUOTA_EXCEEDED', 'quota exceeded while other uploads of yours were being decided; try again');
    }
  }

  /** QUOTA_EXCEEDED when an upload of `size` would not fit the counters as they are now, else null. */
  private async refusal(ownerId: string, size: number): Promise<ApiError | null> {
    if (!hasQuota(this.limits)) return null;
    return quotaRefusal(await this.usage.forOwner(ownerId), this.limits, size, this.now());
  }

  async usageOf(ownerId: string): Promise<UsageView> {
    return usageView(await this.usage.forOwner(ownerId), this.limits, this.now());
  }
}
