// Target 3: voice notes, one at a time, from completeAudioUpload returning to
// the DONE event on a graphql-ws subscriber, beside the bare ffmpeg command
// on the same local file (interleaved note by note).
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { complete, upload, Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { bareTranscodeArgs, FFMPEG, type VoiceNote, voiceNotes } from '../lib/inputs.js';
import { nowMs, timedRun } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, max, median, ms, quantile, ratio } from '../lib/stats.js';

export interface NoteTiming {
  id: string;
  format: string;
  seconds: number;
  bareMs: number;
  /** completeAudioUpload: request sent, response received. */
  completeSentMs: number;
  completeReturnedMs: number;
  queuedMs: number | null;
  processingMs: number | null;
  doneMs: number;
  status: string;
}

/** Uploads and processes notes one at a time; returns epoch-ms stamps per note. */
export async function processNotesSequentially(
  ctx: BenchContext,
  apiUrl: string,
  token: string,
  watcher: Watcher,
  notes: VoiceNote[],
  withBare: boolean,
): Promise<NoteTiming[]> {
  const out = path.join(ctx.scratch, 'voice-bare.m4a');
  const timings: NoteTiming[] = [];
  for (const note of notes) {
    let bareMs = Number.NaN;
    if (withBare) {
      const b = await timedRun(FFMPEG, bareTranscodeArgs(note.path, out));
      if (b.exitCode !== 0) throw new Error(`bare ffmpeg failed on ${note.path}: ${b.stderr.slice(-300)}`);
      bareMs = b.wallMs;
    }
    const body = await readFile(note.path);
    const id = await upload(apiUrl, token, { path: note.path, contentType: note.contentType }, body);
    const completeSentMs = nowMs();
    await complete(apiUrl, token, id);
    const completeReturnedMs = nowMs();
    const done = await watcher.waitFor(id, ['DONE', 'FAILED'], 60_000);
    timings.push({
      id,
      format: note.format,
      seconds: note.seconds,
      bareMs,
      completeSentMs,
      completeReturnedMs,
      queuedMs: watcher.first(id, 'QUEUED')?.receivedMs ?? null,
      processingMs: watcher.first(id, 'PROCESSING')?.receivedMs ?? null,
      doneMs: done.receivedMs,
      status: done.status,
    });
  }
  await rm(out, { force: true });
  return timings;
}

export interface JobStamps {
  createdMs: number;
  startedMs: number | null;
  completedMs: number | null;
  retries: number;
}

/** pg-boss's own timestamps of each asset's job (database clock = this machine's clock). */
export async function jobStamps(ctx: BenchContext, ids: string[]): Promise<Map<string, JobStamps>> {
  const rows = await ctx.cluster.query(
    `select data->>'assetId' as id, extract(epoch from created_on) * 1000 as created, extract(epoch from started_on) * 1000 as started,
            extract(epoch from completed_on) * 1000 as completed, retry_count
       from pgboss.job where name = 'process-audio' and data->>'assetId' = any($1::text[])`,
    [ids],
  );
  return new Map(
    rows.rows.map((r) => [
      r.id as string,
      { createdMs: Number(r.created), startedMs: r.started === null ? null : Number(r.started), completedMs: r.completed === null ? null : Number(r.completed), retries: Number(r.retry_count) },
    ]),
  );
}

/** Wall time of `ffmpeg -hide_banner -version` (start-up alone), median of 10: the machine's ffmpeg and, when installed, the npm static build. */
async function ffmpegStartup(): Promise<{ name: string; ms: number }[]> {
  const out: { name: string; ms: number }[] = [];
  const candidates: [string, string | null][] = [[`${FFMPEG} (the one the service uses)`, FFMPEG], ['@ffmpeg-installer static build (2018)', npmFfmpeg()]];
  for (const [name, bin] of candidates) {
    if (!bin) continue;
    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await timedRun(bin, ['-hide_banner', '-version'])).wallMs);
    out.push({ name, ms: median(times) });
  }
  return out;
}

function npmFfmpeg(): string | null {
  try {
    return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return null;
  }
}

export async function voiceSection(ctx: BenchContext): Promise<SectionResult[]> {
  const count = ctx.quick ? 15 : 50;
  ctx.log(`voice notes: generating ${count} notes (cached)`);
  const notes = await voiceNotes(count);
  const worker = await ctx.cluster.startService({ role: 'worker', name: 'voice-worker' });
  const token = await ctx.token('voice-user');
  const watcher = new Watcher(ctx.api.url, token);
  try {
    await watcher.start();
    await watcher.confirmLive(ctx.api.url, token);
    ctx.log('voice notes: 3 warm-up notes');
    await processNotesSequentially(ctx, ctx.api.url, token, watcher, notes.slice(0, 3), false);
    ctx.log(`voice notes: ${count} notes, each after its bare ffmpeg baseline`);
    const timings = await processNotesSequentially(ctx, ctx.api.url, token, watcher, notes, true);
    const failed = timings.filter((t) => t.status !== 'DONE');
    const stamps = await jobStamps(ctx, timings.map((t) => t.id));
    const leftovers = await ctx.cluster.leftoverTmp(worker);
    const startup = await ffmpegStartup();
    return [report(ctx, timings, stamps, failed.length, leftovers.length, startup)];
  } finally {
    await watcher.close();
    await worker.stop();
  }
}

function report(ctx: BenchContext, timings: NoteTiming[], stamps: Map<string, JobStamps>, failed: number, leftovers: number, startup: { name: string; ms: number }[]): SectionResult {
  const latency = timings.map((t) => t.doneMs - t.completeReturnedMs);
  const bare = timings.map((t) => t.bareMs);
  const overhead = timings.map((t) => t.doneMs - t.completeReturnedMs - t.bareMs);
  const completeCall = timings.map((t) => t.completeReturnedMs - t.completeSentMs);
  const pickup = timings.map((t) => {
    const s = stamps.get(t.id);
    return s?.startedMs ? s.startedMs - s.createdMs : Number.NaN;
  }).filter(Number.isFinite);
  const toProcessing = timings.filter((t) => t.processingMs !== null).map((t) => t.processingMs! - t.completeReturnedMs);
  const processingToDone = timings.filter((t) => t.processingMs !== null).map((t) => t.doneMs - t.processingMs!);
  const p50 = quantile(latency, 0.5);
  const p95 = quantile(latency, 0.95);
  const row = (name: string, v: number[]) => [name, ms(quantile(v, 0.5)), ms(quantile(v, 0.95)), ms(max(v))];
  const byFormat = ['opus', 'webm', 'm4a'].map((f) => {
    const sel = timings.filter((t) => t.format === f);
    const l = sel.map((t) => t.doneMs - t.completeReturnedMs);
    const b = sel.map((t) => t.bareMs);
    return [f, sel.length, ms(median(l)), ms(median(b)), ratio(median(l) / median(b), 2), `${fmt(median(sel.map((t) => t.seconds)), 0)} s`];
  });
  const md =
    `${timings.length} voice notes of 5-30 s (Opus in Ogg, Opus in WebM, AAC in M4A, in turn), processed one at a time by one worker ` +
    `process (default concurrency) after 3 warm-up notes. Latency = from the completeAudioUpload response to the DONE event on a ` +
    `graphql-ws subscriber (subscribed to all of the user's assets, selection \`id status progress duration url error\`). ` +
    `Baseline = the bare \`ffmpeg -i note -vn -c:a aac -b:a 64k -ac 1 -ar 44100 -movflags +faststart out.m4a\` of the same local ` +
    `file, run just before each note. ${failed} failed; ${leftovers} file(s) left in the worker's TMPDIR.\n\n` +
    table(['', 'p50', 'p95', 'max'], [
      row('**complete returned → DONE received**', latency),
      row('bare ffmpeg on the local file', bare),
      row('service minus bare, per note', overhead),
      row('completeAudioUpload call itself', completeCall),
      row('job created → job started (pg-boss, DB clock)', pickup),
      row('complete returned → PROCESSING received', toProcessing),
      row('PROCESSING received → DONE received', processingToDone),
    ]) +
    `\n\nRatio of medians, service / bare: ${ratio(p50 / median(bare), 2)}.\n\n` +
    table(['format', 'notes', 'latency p50', 'bare p50', 'ratio', 'median length'], byFormat) +
    `\n\nffmpeg's start-up alone (\`ffmpeg -hide_banner -version\`, median of 10), part of every bare and every service run: ` +
    startup.map((s) => `${s.name}: ${ms(s.ms)}`).join('; ') + '.';
  return result(ctx, {
    key: 'voice',
    title: '3. Voice notes: completeAudioUpload → DONE',
    targets: [
      { name: '3. Voice notes', target: 'p50 < 250 ms', measured: `${ms(p50)} (bare ffmpeg p50 ${ms(median(bare))})`, met: ctx.quick ? null : p50 < 250 && failed === 0 },
      { name: '3. Voice notes', target: 'p95 < 500 ms', measured: ms(p95), met: ctx.quick ? null : p95 < 500 && failed === 0 },
    ],
    markdown: md,
    data: { timings },
  });
}
