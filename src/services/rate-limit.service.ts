import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../domain/errors.js';

/** The mutations with a per-user budget, and how many calls a minute each allows. */
export type RateLimitedAction = 'prepareAudioUpload' | 'completeAudioUpload' | 'renewUploadUrls';
export type RateLimits = Record<RateLimitedAction, number>;

/** rate-limiter-flexible's table: key (varchar 255) -> points, expire (epoch ms). */
export const RATE_LIMIT_TABLE = 'rate_limit';

/**
 * Per-user call budgets counted in PostgreSQL, so every API process shares
 * them: one row per user and action, bumped by a single INSERT ... ON
 * CONFLICT DO UPDATE (atomic across processes; no read-modify-write race).
 * A fixed one-minute window: the row's `expire` is when the count restarts.
 */
export class RateLimitService {
  private constructor(private readonly limiters: Record<RateLimitedAction, { limiter: RateLimiterPostgres; perMinute: number }>) {}

  /** Creates the table if needed (under a lock: API processes start together) and the limiters. */
  static async start(pool: pg.Pool, limits: RateLimits): Promise<RateLimitService> {
    await createTable(pool);
    const make = (action: RateLimitedAction) => ({
      perMinute: limits[action],
      limiter: new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: RATE_LIMIT_TABLE,
        tableCreated: true,
        keyPrefix: action,
        points: limits[action],
        duration: 60,
      }),
    });
    return new RateLimitService({
      prepareAudioUpload: make('prepareAudioUpload'),
      completeAudioUpload: make('completeAudioUpload'),
      renewUploadUrls: make('renewUploadUrls'),
    });
  }

  /**
   * Counts one call of `action` by `userId`; throws RATE_LIMITED (with
   * retryAfterSeconds) once the minute's budget is spent. A database error
   * propagates: the mutation would need the database anyway.
   */
  async consume(action: RateLimitedAction, userId: string): Promise<void> {
    const { limiter, perMinute } = this.limiters[action];
    try {
      await limiter.consume(userId, 1);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      const retryAfterSeconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
      throw new ApiError('RATE_LIMITED', `${action} is limited to ${perMinute} calls a minute per user; try again in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }
}

async function createTable(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    // CREATE TABLE IF NOT EXISTS is not safe against itself (duplicate pg_type row): serialise it.
    await client.query(`select pg_advisory_xact_lock(hashtext('audio-service:${RATE_LIMIT_TABLE}'))`);
    await client.query(`create table if not exists ${RATE_LIMIT_TABLE} (
      key varchar(255) primary key,
      points integer not null default 0,
      expire bigint
    )`);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
