import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FairnessStats, LaneStats } from '../db/fairness-stats.repository.js';
import { LANES } from '../domain/fairness.js';

export interface QueueStats {
  queued: number;
  active: number;
}

/** Scrapes within this long of the last read share it: the queue is read at most once a second. */
const QUEUE_STATS_CACHE_MS = 1000;

export interface MetricsSources {
  queueStats?: () => Promise<QueueStats>;
  /** The queue by lane and the jobs processing per user, from our own asset rows. */
  fairnessStats?: () => Promise<FairnessStats>;
  wsConnections?: () => number;
  subscriptions?: () => number;
}

/**
 * The service's Prometheus metrics, one registry per process (tests run
 * several apps in one process). Collectors that need I/O (queue depth) are
 * given as callbacks and run only when /metrics is scraped.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly jobs = new Counter({
    name: 'audio_jobs_total',
    help: 'Processing attempts by outcome (done, failed, retry) and asset error code',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });

  readonly processingSeconds = new Histogram({
    name: 'audio_processing_seconds',
    help: 'Wall time of one processing attempt',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });

  readonly realTimeFactor = new Histogram({
    name: 'audio_processing_realtime_factor',
    help: 'Seconds of audio processed per second of wall time (DONE jobs)',
    buckets: [1, 5, 10, 25, 50, 100, 200, 400, 800],
    registers: [this.registry],
  });

  readonly transcodes = new Counter({
    name: 'audio_transcodes_total',
    help: 'Transcodes of finished attempts, by processes: 1, or 2 (decoder piped into encoder: a long file that found the worker running nothing else)',
    labelNames: ['processes'] as const,
    registers: [this.registry],
  });

  readonly operationSeconds = new Histogram({
    name: 'audio_graphql_operation_seconds',
    help: 'GraphQL operation latency over HTTP, by operation type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** One finished attempt: how it left the asset, and how long it took. */
  recordJob(outcome: { kind: string; code?: string | null; durationSeconds?: number | null; processes?: 1 | 2 }, seconds: number): void {
    this.processingSeconds.observe(seconds);
    this.jobs.inc({ outcome: outcome.kind, code: outcome.kind === 'failed' ? (outcome.code ?? '') : '' });
    if (outcome.kind !== 'done') return;
    if (outcome.durationSeconds && seconds > 0) this.realTimeFactor.observe(outcome.durationSeconds / seconds);
    // Set only when this attempt ran ffmpeg.
    if (outcome.processes) this.transcodes.inc({ processes: String(outcome.processes) });
  }

  constructor(options: MetricsSources = {}) {
    collectDefaultMetrics({ register: this.registry });
    if (options.wsConnections) this.live('audio_ws_connections', 'Open graphql-ws connections', options.wsConnections);
    if (options.subscriptions) this.live('audio_ws_subscriptions', 'Active assetUpdated subscriptions on this process', options.subscriptions);
    if (options.fairnessStats) this.fairnessGauges(options.fairnessStats);
    const stats = options.queueStats;
    if (stats) {
      // One read serves both gauges and every scrape for a second, however many scrapers there are.
      const read = sharedFor(stats, QUEUE_STATS_CACHE_MS);
      new Gauge({
        name: 'audio_queue_depth',
        help: 'Jobs waiting to be processed (created or retry)',
        registers: [this.registry],
        async collect() {
          this.set((await read()).queued);
        },
      });
      new Gauge({
        name: 'audio_queue_active_jobs',
        help: 'Jobs being processed now',
        registers: [this.registry],
        async collect() {
          this.set((await read()).active);
        },
      });
    }
  }

  /** Queue depth and wait by lane, and processing jobs per user: one query serves every gauge and scrape for a second. */
  private fairnessGauges(stats: () => Promise<FairnessStats>): void {
    const read = sharedFor(stats, QUEUE_STATS_CACHE_MS);
    const byLane = (name: string, help: string, pick: (l: LaneStats) => number) =>
      new Gauge({
        name, help, labelNames: ['lane'] as const, registers: [this.registry],
        async collect() {
          const s = await read();
          for (const lane of LANES) this.set({ lane }, pick(s.lanes[lane]));
        },
      });
    const gauge = (name: string, help: string, pick: (s: FairnessStats) => number) =>
      new Gauge({ name, help, registers: [this.registry], async collect() { this.set(pick(await read())); } });
    byLane('audio_lane_queue_depth', 'Assets QUEUED for processing, by lane (voice: declared at most 2 MiB)', (l) => l.queued);
    byLane('audio_lane_queue_wait_seconds', 'How long the oldest QUEUED asset of the lane has waited', (l) => l.oldestWaitSeconds);
    gauge('audio_processing_users', 'Users with at least one asset PROCESSING', (s) => s.processingUsers);
    gauge('audio_processing_jobs_max_per_user', 'Assets PROCESSING for the user with the most of them', (s) => s.processingMaxPerUser);
  }

  /** A gauge read from live state at scrape time (no bookkeeping to drift). */
  live(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** One call of `read` serves every caller until `ms` after it settles. */
function sharedFor<T>(read: () => Promise<T>, ms: number): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => (pending ??= read().finally(() => setTimeout(() => (pending = null), ms).unref()));
}
