// Issue 19's cost target: processing with waveform levels against processing
// without them, same run, same file, interleaved. Each run is the worker's
// own media step (src/media/run.ts: one ffmpeg decode feeding the AAC encoder
// and the PCM analysers) on a small podcast cut served over local HTTP; only
// the analyser list differs.
import { stat, mkdtemp, rm, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { PcmAnalyser } from '../../src/analysis/analyser.js';
import { PeakReducer } from '../../src/analysis/peaks.js';
import { WaveformLevelsAnalyser } from '../../src/analysis/waveform-files.js';
import { runMedia } from '../../src/media/run.js';
import { type BenchContext, result } from '../lib/context.js';
import { FFMPEG, cutMp3, podcastMp3 } from '../lib/inputs.js';
import { nowMs } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, median, ms, ratio } from '../lib/stats.js';

/** Serves one file whole (an MP3 decodes front to back: no Range needed). */
async function serveFile(file: string): Promise<{ url: string; close(): Promise<void> }> {
  const body = await readFile(file);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/input.mp3`, close: () => new Promise((r) => server.close(() => r())) };
}

interface Run { wallMs: number; nodeCpuMs: number; levels: { samplesPerPixel: number; length: number; datBytes: number; jsonBytes: number }[] }

async function oneRun(ctx: BenchContext, url: string, withLevels: boolean): Promise<Run> {
  const dir = await mkdtemp(path.join(ctx.scratch, 'waveform-run-'));
  try {
    const analysers: PcmAnalyser[] = withLevels ? [new PeakReducer(), new WaveformLevelsAnalyser(dir)] : [new PeakReducer()];
    const cpu = process.cpuUsage();
    const started = nowMs();
    const r = await runMedia({
      ffmpegPath: FFMPEG,
      plan: { inputUrl: url, demuxer: 'mp3', etag: null, m4aPath: path.join(dir, 'audio.m4a'), maxDurationSeconds: 14_400, movieTimescale: false },
      analysers,
      headerSeconds: null,
      longJob: true,
      limits: { cpuSeconds: 600 },
      signal: new AbortController().signal,
    });
    const wallMs = nowMs() - started;
    const used = process.cpuUsage(cpu);
    if (r.kind !== 'done') throw new Error(`media run failed: ${r.message}`);
    const files = withLevels ? (r.analyses[1] as Awaited<ReturnType<WaveformLevelsAnalyser['finish']>>) : [];
    const levels = await Promise.all(
      files.map(async (f) => ({ samplesPerPixel: f.samplesPerPixel, length: f.length, datBytes: (await stat(f.datPath)).size, jsonBytes: (await stat(f.jsonPath)).size })),
    );
    return { wallMs, nodeCpuMs: (used.user + used.system) / 1000, levels };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function waveformSection(ctx: BenchContext): Promise<SectionResult[]> {
  const seconds = ctx.quick ? 30 : 120;
  const file = await cutMp3(await podcastMp3(600), seconds);
  const server = await serveFile(file);
  const rounds = Math.max(3, ctx.runs * 2);
  const bare: Run[] = [];
  const levels: Run[] = [];
  try {
    ctx.log(`waveform: ${rounds} interleaved rounds of a ${seconds}-s MP3, media step without and with waveform levels`);
    await oneRun(ctx, server.url, true); // warm-up: page cache, JIT
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so drift in machine load falls on both.
      const order = i % 2 ? [true, false] : [false, true];
      for (const withLevels of order) (withLevels ? levels : bare).push(await oneRun(ctx, server.url, withLevels));
    }
  } finally {
    await server.close();
  }
  const wall = median(levels.map((r) => r.wallMs)) / median(bare.map((r) => r.wallMs));
  const cpu = median(levels.map((r) => r.nodeCpuMs)) - median(bare.map((r) => r.nodeCpuMs));
  const sample = levels[0]!.levels;
  const finest = sample[0]!;
  const coarsest = sample.at(-1)!;
  const markdown = [
    `The worker's media step (src/media/run.ts, one ffmpeg decode feeding the AAC encoder and the analysers) on a ${seconds}-s podcast-style MP3 served over local HTTP, ${rounds} interleaved rounds each: peak envelope only, then peak envelope plus waveform levels (src/analysis/waveform-files.ts). Wall time medians; Node's own CPU from process.cpuUsage.`,
    '',
    table(
      ['run', 'wall (median)', 'node CPU (median)', 'per round'],
      [
        ['envelope only', ms(median(bare.map((r) => r.wallMs))), ms(median(bare.map((r) => r.nodeCpuMs))), bare.map((r) => fmt(r.wallMs)).join(', ')],
        ['envelope + waveform levels', ms(median(levels.map((r) => r.wallMs))), ms(median(levels.map((r) => r.nodeCpuMs))), levels.map((r) => fmt(r.wallMs)).join(', ')],
        ['ratio', ratio(wall), `+${ms(cpu)}`, ''],
      ],
    ),
    '',
    table(
      ['level (samples per pixel)', 'pairs', '.dat bytes', 'JSON bytes'],
      sample.map((l) => [l.samplesPerPixel, fmt(l.length), fmt(l.datBytes), fmt(l.jsonBytes)]),
    ),
    '',
    `Extrapolated to 2 hours: the finest level is ${fmt(((finest.datBytes - 24) * 7200) / seconds / 1e6, 2)} MB of .dat; the coarsest level of a 2-hour file holds at most 4,096 pairs (${fmt(24 + 2 * 4096)} bytes of .dat), here ${fmt(coarsest.datBytes)} bytes.`,
  ].join('\n');
  return [
    result(ctx, {
      key: 'waveform',
      title: 'Waveform levels: processing with levels vs without',
      targets: [{ name: '19. Waveform levels', target: 'processing with levels ≤ 1.02x without (at most 2 points)', measured: ratio(wall), met: wall <= 1.02 }],
      markdown,
      data: { seconds, rounds, bare, levels },
    }),
  ];
}
