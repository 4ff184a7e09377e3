import type { Job } from 'pg-boss';
import type { Config } from '../config/config.js';
import type { AssetRepository } from '../db/asset.repository.js';
import { deletedAssetIdFromPayload } from '../domain/asset.js';
import { ASSET_DELETED_CHANNEL } from '../events/asset-events.js';
import { PgListener } from '../events/pg-listener.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { resolveFfmpeg } from '../media/ffmpeg-binary.js';
import { NO_LIBOPUS_WARNING, hasLibopus } from '../renditions/opus.js';
import { assertSandboxed, detectSandboxTools } from '../media/sandbox.js';
import { ProcessingService } from '../services/processing.service.js';
import { SweepService } from '../services/sweep.service.js';
import { DoneAssetBackfill } from '../services/backfill.service.js';
import { removeDeadWorkersJobDirs } from './work-dirs.js';
import type { Storage } from '../storage/s3.js';
import { FULL_SWEEP_QUEUE, BACKFILL_QUEUE, PROCESS_AUDIO_QUEUE, PROCESS_AUDIO_RETRY_LIMIT, type PgBossQueue, SWEEP_QUEUE, decodeJob } from './queue.js';
import { workerSlots } from '../domain/fairness.js';

export interface RunningWorker {
  sweep: SweepService;
  /** Gives a few assets DONE before loudness or waveform levels existed what they lack; `busy` makes it yield to processing. */
  backfill: DoneAssetBackfill;
  stop(): Promise<void>;
}

export interface WorkerDeps {
  queue: PgBossQueue;
  assets: AssetRepository;
  storage: Storage;
  config: Config;
  databaseUrl: string;
  log: Logger;
  metrics: Metrics;
}

/** The process-audio consumer (one job = one attempt) and the scheduled sweep. */
export async function startWorker(d: WorkerDeps): Promise<RunningWorker> {
  const ffmpeg = await resolveFfmpeg(d.config.ffmpegPath ?? undefined);
  d.log.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source, movieTimescale: ffmpeg.movieTimescale }, 'ffmpeg in use');
  if (ffmpeg.warning) d.log.warn(ffmpeg.warning);
  const libopus = await hasLibopus(ffmpeg.path);
  if (!libopus) d.log.warn(NO_LIBOPUS_WARNING);
  // Refuses (production) before taking a job that ffmpeg would run unconfined.
  const sandbox = await detectSandboxTools();
  assertSandboxed(sandbox, d.config.nodeEnv);
  d.log.info({ bwrap: sandbox.bwrap !== null, runAs: sandbox.runAs, prlimit: sandbox.prlimit !== null }, 'ffmpeg sandbox');
  const media = {
    ffmpegPath: ffmpeg.path,
    movieTimescale: ffmpeg.movieTimescale,
    tmpDir: d.config.tmpDir,
    maxDurationSeconds: d.config.maxDurationSeconds,
    jobTimeoutSeconds: d.config.jobTimeoutSeconds,
  };
  const processing = new ProcessingService(d.assets, d.storage, { ...media, libopus });
  const sweep = new SweepService(d.assets, d.storage, d.config);
  const backfill = new DoneAssetBackfill(d.assets, d.storage, media);
  const leftovers = await removeDeadWorkersJobDirs(d.config.tmpDir);
  if (leftovers.length) d.log.info({ removed: leftovers }, 'removed temp dirs of workers that died');

  // A deleted asset stops its running job at once (trigger: asset_deleted).
  const running = new Map<string, AbortController>();
  const deletions = new PgListener({
    databaseUrl: d.databaseUrl,
    channels: [ASSET_DELETED_CHANNEL],
    onNotification: (_channel, payload) => {
      const id = deletedAssetIdFromPayload(payload);
      if (id) running.get(id)?.abort();
    },
    log: d.log,
  });
  await deletions.start();

  const handle = async (job: Job<unknown>) => {
    const data = decodeJob(job.data);
    if (!data) {
      d.log.error({ jobId: job.id }, 'a job payload no version of ours wrote: dropped');
      return;
    }
    const { assetId } = data;
    const log = d.log.child({ jobId: job.id, assetId, attempt: job.retryCount });
    const deleted = new AbortController();
    running.set(assetId, deleted);
    const started = process.hrtime.bigint();
    try {
      const outcome = await processing.process({
        job: data,
        retryCount: job.retryCount,
        retryLimit: PROCESS_AUDIO_RETRY_LIMIT,
        signal: AbortSignal.any([job.signal, deleted.signal]),
        log,
      });
      d.metrics.recordJob(outcome, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (e) {
      d.metrics.jobs.inc({ outcome: 'retry', code: '' });
      throw e;
    } finally {
      if (running.get(assetId) === deleted) running.delete(assetId);
    }
  };

  // One pg-boss worker per slot, each waking itself after every job instead
  // of after its poll delay (pg-boss skips that delay only in burst mode, from
  // a stats cache refreshed once a minute: a backlog of voice notes ran at half
  // speed). NOTIFY wakes idle slots; the poll is the backstop for retries.
  // The slots' fetch options are the fairness rules (domain/fairness.ts):
  // WORKER_CONCURRENCY slots for any job, voice notes first, as many more for
  // voice notes only, and a cap on each user's running long files.
  for (const slot of workerSlots(d.config.workerConcurrency)) {
    let self: string | null = null;
    self = await d.queue.boss.work<unknown>(
      PROCESS_AUDIO_QUEUE,
      { localConcurrency: 1, batchSize: 1, notifyPollingIntervalSeconds: 1, pollingIntervalSeconds: 1, ...slot },
      async ([job]) => {
        try {
          if (job) await handle(job);
        } finally {
          if (self) d.queue.boss.notifyWorker(self);
        }
      },
    );
  }
  await d.queue.boss.work(SWEEP_QUEUE, { batchSize: 1 }, async () => {
    await sweep.run(d.log.child({ job: 'sweep' }));
  });
  await d.queue.boss.work(FULL_SWEEP_QUEUE, { batchSize: 1 }, async () => {
    await sweep.run(d.log.child({ job: 'sweep-full' }), { full: true });
  });
  await d.queue.boss.work(BACKFILL_QUEUE, { batchSize: 1 }, async () => {
    // Low priority: only while this worker processes no upload, and it stops between assets when one arrives.
    if (running.size === 0) await backfill.run(d.log.child({ job: 'backfill' }), () => running.size > 0);
  });
  return {
    sweep,
    backfill,
    // Running jobs are left to boss.stop(), which gives them their grace.
    async stop() {
      await deletions.stop();
    },
  };
}
