import type pg from 'pg';
import { ApiError } from '../domain/errors.js';

/**
 * What has a per-user budget a minute: the upload mutations (calls) and
 * `query`, every GraphQL operation priced by its complexity (points).
 * A budget of 0 means no limit.
 */
export type RateLimitedAction = 'prepareAudioUpload' | 'completeAudioUpload' | 'renewUploadUrls' | 'query';
export type RateLimits = Record<RateLimitedAction, number>;

/** key (varchar 255: `<action>:<user>`) -> points, expire (epoch ms); rate-limiter-flexible's layout, which earlier versions used. */
export const RATE_LIMIT_TABLE = 'rate_limit';

const WINDOW_MS = 60_000;
/** Keys per statement; more wait for the next one. */
const MAX_BATCH_KEYS = 500;

/**
 * One statement counts a batch of calls: each key's calls are added at once
 * (`n`), atomically across processes, and the row's new total tells which of
 * them fit. Keys are sorted so that two processes' batches lock rows in the
 * same order (no deadlock). A fixed window: past `expire` the count restarts.
 */
const UPSERT_SQL = `insert into ${RATE_LIMIT_TABLE} as r (key, points, expire)
  select k, n, $3::bigint from unnest($1::varchar[], $2::int[]) as t(k, n) order by k
  on conflict (key) do update set
    points = case when r.expire is null or r.expire <= $4::bigint then excluded.points else r.points + excluded.points end,
    expire = case when r.expire is null or r.expire <= $4::bigint then excluded.expire else r.expire end
  returning key, points, expire`;

interface Waiter {
  action: RateLimitedAction;
  /** What this call costs: 1 for a mutation, the complexity for a query. */
  points: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Which of a key's calls in one batch fit the budget, given the row's total
 * after adding their points: the calls are the last of that total, in
 * arrival order, and each fits when the total up to and including it is
 * within the budget, exactly as if each had been counted by its own statement.
 */
export function fitsPoints(totalAfter: number, points: readonly number[], perMinute: number): boolean[] {
  let total = totalAfter - points.reduce((a, b) => a + b, 0);
  return points.map((p) => (total += p) <= perMinute);
}

/**
 * Per-user call budgets counted in PostgreSQL, so every API process shares
 * them. Calls that arrive while a count is in flight wait for it and are
 * counted together by the next statement: under load one round trip serves
 * many calls (BENCHMARKS.md, target 5), alone a call costs one as before.
 */
export class RateLimitService {
  private queue = new Map<string, Waiter[]>();
  private flushing = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly limits: RateLimits,
  ) {}

  /** Creates the table if needed (under a lock: API processes start together). */
  static async start(pool: pg.Pool, limits: RateLimits): Promise<RateLimitService> {
    await createTable(pool);
    return new RateLimitService(pool, limits);
  }

  /**
   * Counts one call of `action` by `userId`; throws RATE_LIMITED (with
   * retryAfterSeconds) once the minute's budget is spent. A database error
   * propagates: the mutation would need the database anyway.
   */
  consume(action: RateLimitedAction, userId: string, points = 1): Promise<void> {
    if (this.limits[action] === 0) return Promise.resolve();
    const key = `${action}:${userId}`;
    // Auth caps `sub` at 200 characters; a longer key would fail its whole batch.
    if (key.length > 255) return Promise.reject(new Error('rate limit: user id too long'));
    return new Promise((resolve, reject) => {
      const waiters = this.queue.get(key);
      if (waiters) waiters.push({ action, points, resolve, reject });
      else this.queue.set(key, [{ action, points, resolve, reject }]);
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.size > 0) {
        const batch = this.takeBatch();
        // Whatever goes wrong, every call of the batch is answered: none waits for ever or passes uncounted.
        await this.countBatch(batch).catch((e: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  private takeBatch(): Map<string, Waiter[]> {
    if (this.queue.size <= MAX_BATCH_KEYS) {
      const batch = this.queue;
      this.queue = new Map();
      return batch;
    }
    const batch = new Map<string, Waiter[]>();
    for (const [key, waiters] of this.queue) {
      if (batch.size === MAX_BATCH_KEYS) break;
      batch.set(key, waiters);
      this.queue.delete(key);
    }
    return batch;
  }

  private async countBatch(batch: Map<string, Waiter[]>): Promise<void> {
    const keys = [...batch.keys()];
    const now = Date.now();
    // A failed query rejects the whole batch (flush).
    const { rows } = await this.pool.query<{ key: string; points: number; expire: string }>({
      name: 'rate_limit_count',
      text: UPSERT_SQL,
      values: [keys, keys.map((k) => batch.get(k)!.reduce((sum, w) => sum + w.points, 0)), now + WINDOW_MS, now],
    });
    for (const row of rows) {
      const waiters = batch.get(row.key)!;
      batch.delete(row.key);
      const perMinute = this.limits[waiters[0]!.action];
      const ok = fitsPoints(row.points, waiters.map((w) => w.points), perMinute);
      const retryAfterSeconds = Math.max(1, Math.ceil((Number(row.expire) - now) / 1000));
      waiters.forEach((w, i) => (ok[i] ? w.resolve() : w.reject(limited(w.action, perMinute, retryAfterSeconds))));
    }
    // Every key gets a row back; should one not, its calls are not let through uncounted.
    for (const waiters of batch.values()) for (const w of waiters) w.reject(new Error('rate limit: no count returned'));
  }
}

function limited(action: RateLimitedAction, perMinute: number, retryAfterSeconds: number): ApiError {
  const what = action === 'query' ? `queries are limited to ${perMinute} complexity points` : `${action} is limited to ${perMinute} calls`;
  return new ApiError('RATE_LIMITED', `${what} a minute per user; try again in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
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
