// Does a long job alone on its worker lose time to its CPU priority? A long
// file's ffmpeg runs at nice 19 (src/domain/fairness.ts) so that voice notes
// and the API go first; alone, it yields only to its own worker's node
// process, which runs the analysers on the PCM it produces. This section runs
// the worker's media step (runMedia, with the job's own analysers, input over
// HTTP from the S3 server) on the same file at nice 19 and at nice 10,
// interleaved in one run, because two separate runs on these machines cannot
// separate a 5 % effect from the drift (findings 21).
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { LONG_JOB_NICE, VOICE_NOTE_NICE } from '../../src/domain/fairness.js';
import { runMedia } from '../../src/media/run.js';
import { jobAnalysers } from '../../src/services/processing.service.js';
import { type BenchContext, result } from '../lib/context.js';
import { benchStorage } from '../lib/infra.js';
import { cutMp3, FFMPEG, podcastMp3 } from '../lib/inputs.js';
import { nowMs } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, median, ratio, sec } from '../lib/stats.js';

interface NiceRun { nice: number; wallMs: number; nodeCpuSeconds: number }

async function oneRun(ctx: BenchContext, url: string, nice: number): Promise<NiceRun> {
  const dir = await mkdtemp(path.join(ctx.scratch, 'nice-run-'));
  try {
    const cpu = process.cpuUsage();
    const started = nowMs();
    const r = await runMedia({
      ffmpegPath: FFMPEG,
      plan: { inputUrl: url, demuxer: 'mp3', etag: null, m4aPath: path.join(dir, 'audio.m4a'), maxDurationSeconds: 14_400, movieTimescale: true },
      analysers: jobAnalysers(dir),
      headerSeconds: null,
      longJob: true,
      limits: { cpuSeconds: 14_400, nice },
      workDir: dir,
      signal: new AbortController().signal,
    });
    const wallMs = nowMs() - started;
    const used = process.cpuUsage(cpu);
    if (r.kind !== 'done') throw new Error(`media run at nice ${nice} ended ${r.kind}: ${r.message}`);
    return { nice, wallMs, nodeCpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function niceSection(ctx: BenchContext): Promise<SectionResult[]> {
  const seconds = ctx.quick ? 300 : 7200;
  const file = ctx.quick ? await cutMp3(await podcastMp3(1200), seconds) : await podcastMp3(seconds);
  const storage = benchStorage(ctx.cluster.s3);
  const key = 'bench/nice-ab.mp3';
  const pairs = ctx.quick ? 1 : Math.max(ctx.runs, 4);
  const runs: NiceRun[] = [];
  try {
    await storage.uploadFile({ key, path: file, contentType: 'audio/mpeg' });
    const url = await storage.presignInternalGet(key, 6 * 3600);
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so drift in machine speed falls on both.
      const order = i % 2 ? [VOICE_NOTE_NICE, LONG_JOB_NICE] : [LONG_JOB_NICE, VOICE_NOTE_NICE];
      for (const nice of order) {
        ctx.log(`nice: pair ${i + 1}/${pairs}, media run of the ${seconds}-s file at nice ${nice}`);
        runs.push(await oneRun(ctx, url, nice));
      }
    }
  } finally {
    await storage.delete(key).catch(() => {});
    storage.close();
  }
  const at = (nice: number) => runs.filter((r) => r.nice === nice);
  const low = at(LONG_JOB_NICE);
  const mid = at(VOICE_NOTE_NICE);
  const perPair = median(low.map((r, i) => mid[i]!.wallMs / r.wallMs));
  const rows = low.map((r, i) => [i + 1, sec(r.wallMs), sec(mid[i]!.wallMs), ratio(mid[i]!.wallMs / r.wallMs), `${fmt(r.nodeCpuSeconds, 1)} / ${fmt(mid[i]!.nodeCpuSeconds, 1)} s`]);
  const lowMs = median(low.map((r) => r.wallMs));
  const midMs = median(mid.map((r) => r.wallMs));
  rows.push(['**median**', `**${sec(lowMs)}**`, `**${sec(midMs)}**`, `**${ratio(midMs / lowMs)}**`, '']);
  const markdown =
    `The worker's media step (runMedia: the job's plan, the sandbox, its three analysers in the bench's node process, ` +
    `input over HTTP from the S3 server) on a ${fmt(seconds)}-s MP3, alone on the machine but for the S3 server, at a long ` +
    `job's nice ${LONG_JOB_NICE} and at a voice note's nice ${VOICE_NOTE_NICE} (the ffmpeg processes and their session's autogroup), ` +
    `${pairs} interleaved pairs, order alternating. A ratio below 1.00x means nice ${VOICE_NOTE_NICE} is faster. ` +
    `Median of the per-pair ratios: ${ratio(perPair)}.\n\n` +
    table(['pair', `nice ${LONG_JOB_NICE} (wall)`, `nice ${VOICE_NOTE_NICE} (wall)`, 'ratio', 'node CPU (analysers)'], rows);
  return [
    result(ctx, {
      key: 'nice',
      title: `Long job alone: its ffmpeg at nice ${LONG_JOB_NICE} vs ${VOICE_NOTE_NICE}`,
      targets: [{ name: 'Lone long job, nice', target: 'information (findings 21-22)', measured: `${ratio(midMs / lowMs)} (per-pair ${ratio(perPair)})`, met: null }],
      markdown,
      data: { seconds, runs },
    }),
  ];
}
