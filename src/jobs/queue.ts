// The job queue: pg-boss, behind JobQueue. Only src/jobs imports pg-boss;
// services, the API and the app see this interface.
import type pg from 'pg';
import { PgBoss } from 'pg-boss';
import { isAssetId } from '../domain/asset.js';
import type { JobOrder } from '../domain/fairness.js';

export const PROCESS_AUDIO_QUEUE = 'process-audio';
export const SWEEP_QUEUE = 'sweep';
/** Every minute: what expired since (services/sweep.service.ts). */
export const SWEEP_CRON = '* * * * *';
/** Daily: the full listing of the bucket, for leftovers of crashes. */
export const FULL_SWEEP_QUEUE = 'sweep-full';
export const FULL_SWEEP_CRON = '17 3 * * *';
/**
 * Every minute, a few assets at a time while no upload is processed: what assets DONE before loudness
 * or waveform levels existed lack. Named when it backfilled loudness only; kept so that databases
 * upgraded from then keep one schedule.
 */
export const BACKFILL_QUEUE = 'loudness-backfill';
export const BACKFILL_CRON = '* * * * *';

/** Attempts after the first before an asset ends FAILED INTERNAL. */
export const PROCESS_AUDIO_RETRY_LIMIT = 3;

/** One processing job, as the worker reads it. */
export interface ProcessAudioJob {
  assetId: string;
  /** The original's ETag at completion; null when the job predates it (taken at start then). */
  etag: string | null;
}

/**
 * The stored payload. Version 2 pins the original checked at completion by
 * its ETag. Version 1 (`{ assetId }`), queued by the previous release during
 * a rolling upgrade, is processed too: its ETag is taken when the job starts.
 */
type ProcessAudioPayload = { v: 2; assetId: string; etag: string | null } | { v?: undefined; assetId: string };

export const encodeJob = (job: ProcessAudioJob): ProcessAudioPayload => ({ v: 2, assetId: job.assetId, etag: job.etag });

/** The job a payload asks for, or null for one no version of ours wrote. */
export function decodeJob(data: unknown): ProcessAudioJob | null {
  if (typeof data !== 'object' || data === null) return null;
  const p = data as Partial<Record<'v' | 'assetId' | 'etag', unknown>>;
  if (typeof p.assetId !== 'string' || !isAssetId(p.assetId)) return null;
  if (p.v === 2) return typeof p.etag === 'string' || p.etag === null ? { assetId: p.assetId, etag: p.etag } : null;
  return p.v === undefined ? { assetId: p.assetId, etag: null } : null;
}

export type QueueStats = { queued: number; active: number };

/** What the rest of the service needs of the queue. */
export interface JobQueue {
  /**
   * Queues processing inside the caller's transaction: the job exists iff the
   * asset's move to QUEUED commits. `order`: its lane's priority and the
   * owner's group (domain/fairness.ts), which the worker's slots fetch by.
   */
  enqueueProcessing(job: ProcessAudioJob, transaction: pg.PoolClient, order: JobOrder): Promise<void>;
  stats(): Promise<QueueStats>;
  ping(): Promise<void>;
}

export interface QueueOptions {
  databaseUrl: string;
  /** Workers supervise (expire, retry, schedule); API-only nodes just send. */
  supervise: boolean;
  jobTimeoutSeconds: number;
  onError: (e: Error) => void;
}

/** pg-boss behind JobQueue; `boss` is for src/jobs only (the worker). */
export class PgBossQueue implements JobQueue {
  constructor(readonly boss: PgBoss) {}

  async enqueueProcessing(job: ProcessAudioJob, transaction: pg.PoolClient, order: JobOrder): Promise<void> {
    const db = { executeSql: (text: string, values?: unknown[]) => transaction.query(text, values as unknown[]) };
    await this.boss.send(PROCESS_AUDIO_QUEUE, encodeJob(job), { db, priority: order.priority, group: order.group });
  }

  async stats(): Promise<QueueStats> {
    // pg-boss's own counts, refreshed by its monitor every second: one row, not a scan of its jobs.
    const q = await this.boss.getQueue(PROCESS_AUDIO_QUEUE);
    return { queued: q?.queuedCount ?? 0, active: q?.activeCount ?? 0 };
  }

  async ping(): Promise<void> {
    await this.boss.getQueue(PROCESS_AUDIO_QUEUE);
  }

  stop(graceMs: number): Promise<void> {
    return this.boss.stop({ graceful: true, timeout: graceMs });
  }
}

/**
 * pg-boss set up for instant pickup: LISTEN/NOTIFY on the instance AND
 * `notify` on the queue (either alone leaves pickup on the polling tick).
 * A dead worker is noticed by the heartbeat (10 s, the minimum) swept every
 * second, not by the job's expiry.
 */
export async function startQueue(o: QueueOptions): Promise<PgBossQueue> {
  const boss = new PgBoss({
    connectionString: o.databaseUrl,
    max: 4,
    useListenNotify: true,
    supervise: o.supervise,
    schedule: o.supervise,
    superviseIntervalSeconds: 1,
    monitorIntervalSeconds: 1,
    application_name: 'audio-service/pg-boss',
  });
  boss.on('error', o.onError);
  await boss.start();
  const queueOptions = {
    notify: true,
    heartbeatSeconds: 10,
    retryLimit: PROCESS_AUDIO_RETRY_LIMIT,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 60,
    // Our handler ends an attempt at JOB_TIMEOUT_SECONDS as FAILED TIMEOUT;
    // pg-boss's own expiry is only the backstop for a handler that hangs.
    expireInSeconds: o.jobTimeoutSeconds + 60,
  };
  if (await boss.getQueue(PROCESS_AUDIO_QUEUE)) await boss.updateQueue(PROCESS_AUDIO_QUEUE, queueOptions);
  else await boss.createQueue(PROCESS_AUDIO_QUEUE, queueOptions);
  if (o.supervise) {
    // One sweep at a time across all workers: a singleton queue.
    const scheduled = [[SWEEP_QUEUE, SWEEP_CRON], [FULL_SWEEP_QUEUE, FULL_SWEEP_CRON], [BACKFILL_QUEUE, BACKFILL_CRON]] as const;
    for (const [name, cron] of scheduled) {
      if (!(await boss.getQueue(name))) await boss.createQueue(name, { policy: 'singleton', retryLimit: 0, expireInSeconds: 3600 });
      await boss.schedule(name, cron);
    }
  }
  return new PgBossQueue(boss);
}
