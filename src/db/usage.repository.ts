import type pg from 'pg';
import { NO_USAGE, type UsageCounters } from '../domain/quota.js';

interface UsageRow {
  stored_bytes: string;
  audio_seconds: number;
  audio_day: string;
}

/**
 * Reads the per-owner usage row that triggers on audio_asset keep
 * (migration 20261206000030). Quota checks themselves are part of the
 * asset insert (AssetRepository.createWithinQuota): a separate read here
 * could not stop a concurrent prepare.
 */
export class UsageRepository {
  constructor(private readonly pool: pg.Pool) {}

  async forOwner(ownerId: string): Promise<UsageCounters> {
    const { rows } = await this.pool.query<UsageRow>({
      name: 'usage_for_owner',
      text: `select stored_bytes, audio_seconds, to_char(audio_day, 'YYYY-MM-DD') as audio_day from owner_usage where owner_id = $1`,
      values: [ownerId],
    });
    const row = rows[0];
    if (!row) return NO_USAGE;
    return { storedBytes: Number(row.stored_bytes), audioSeconds: row.audio_seconds, audioDay: row.audio_day };
  }
}
