import { PgBoss } from 'pg-boss';

export const PROCESS_AUDIO_QUEUE = 'process-audio';
export const SWEEP_QUEUE = 'sweep';
/** Every minute: expired uploads and orphaned objects (services/sweep.service.ts). */
export const SWEEP_CRON = '* * * * *';

/** Attempts after the first before an asset ends FAILED INTERNAL. */
export const PROCESS_AUDIO_RETRY_LIMIT = 3;

export interface ProcessAudioData {
  assetId: string;
}

export interface QueueOptions {
  databaseUrl: string;
  /** Workers supervise (expire, retry, schedule); API-only nodes just send. */
  supervise: boolean;
  jobTimeoutSeconds: number;
  onError: (e: Error) => void;
}

/**
 * pg-boss set up for instant pickup: LISTEN/NOTIFY on the instance AND
 * `notify` on the queue (either alone leaves pickup on the polling tick).
 * A dead worker is noticed by the heartbeat (10 s, the minimum) swept every
 * second, not by the job's expiry.
 */
export async function startQueue(o: QueueOptions): Promise<PgBoss> {
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
    if (!(await boss.getQueue(SWEEP_QUEUE))) await boss.createQueue(SWEEP_QUEUE, { policy: 'singleton', retryLimit: 0, expireInSeconds: 300 });
    await boss.schedule(SWEEP_QUEUE, SWEEP_CRON);
  }
  return boss;
}
