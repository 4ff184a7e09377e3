import type pg from 'pg';
import { type Lane, LANES, VOICE_NOTE_MAX_BYTES } from '../domain/fairness.js';

export interface LaneStats {
  queued: number;
  /** How long the oldest QUEUED asset of the lane has waited (0 when none). */
  oldestWaitSeconds: number;
}

export interface FairnessStats {
  lanes: Record<Lane, LaneStats>;
  /** Users with at least one asset PROCESSING, and the most one of them has. */
  processingUsers: number;
  processingMaxPerUser: number;
}

/**
 * The queue as our own asset rows show it, by lane (the declared size, as
 * completeAudioUpload chose the job's priority): read at scrape time, one
 * statement, through the status index. pg-boss's tables stay its own.
 */
export class FairnessStatsRepository {
  constructor(private readonly pool: pg.Pool) {}

  async read(): Promise<FairnessStats> {
    const { rows } = await this.pool.query<{ kind: string; lane: Lane | null; n: number; oldest: number }>({
      name: 'fairness_stats',
      text: `select 'queued' as kind, case when size <= $1 then 'voice' else 'long' end as lane, count(*)::int as n,
                    coalesce(extract(epoch from now() - min(updated_at)), 0)::float8 as oldest
               from audio_asset where status = 'QUEUED' group by 2
             union all
             select 'processing', null, count(*)::int, coalesce(max(per_user), 0)::float8
               from (select count(*) as per_user from audio_asset where status = 'PROCESSING' group by owner_id) u`,
      values: [VOICE_NOTE_MAX_BYTES],
    });
    const lanes = Object.fromEntries(LANES.map((l) => [l, { queued: 0, oldestWaitSeconds: 0 }])) as Record<Lane, LaneStats>;
    let processingUsers = 0;
    let processingMaxPerUser = 0;
    for (const r of rows) {
      if (r.kind === 'queued' && r.lane) lanes[r.lane] = { queued: r.n, oldestWaitSeconds: Math.max(0, r.oldest) };
      else if (r.kind === 'processing') [processingUsers, processingMaxPerUser] = [r.n, r.oldest];
    }
    return { lanes, processingUsers, processingMaxPerUser };
  }
}
