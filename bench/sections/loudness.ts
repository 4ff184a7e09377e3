// Issue 20's costs: the same podcast MP3 processed plain (AAC + waveform +
// loudness, what every asset gets), with `renditions: [OPUS_OGG]`, and with
// `loudnessTarget: -16` (a measuring decode, then the encode with the gain),
// each in a fresh worker, the three in rotating order per round so drift in
// the machine's speed favours none. Ratios are against the plain run of the
// same round. Target: Opus rendition <= 1.3x the plain run's CPU.
import { readFile } from 'node:fs/promises';
import type { ProcessingOptions } from '../lib/client.js';
import { Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { cutMp3, podcastMp3 } from '../lib/inputs.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, median, ratio, sec } from '../lib/stats.js';
import { type ServiceRun, serviceRun } from './podcast.js';

const VARIANTS: { name: string; options?: ProcessingOptions }[] = [
  { name: 'plain (AAC, waveform, loudness measured)' },
  { name: 'renditions: [OPUS_OGG]', options: { renditions: ['OPUS_OGG'] } },
  { name: 'loudnessTarget: -16 (measure, then encode with the gain)', options: { loudnessTarget: -16 } },
];

const cpu = (s: ServiceRun) => s.ffmpegCpuSeconds + s.nodeCpuSeconds;

export async function loudnessSection(ctx: BenchContext): Promise<SectionResult[]> {
  const seconds = ctx.quick ? 60 : 1200;
  ctx.log(`loudness: a ${seconds} s cut of the podcast MP3`);
  const file = await cutMp3(await podcastMp3(ctx.quick ? 1200 : 7200), seconds);
  const body = await readFile(file);
  const token = await ctx.token('loudness');
  const watcher = new Watcher(ctx.api.url, token);
  await watcher.start();
  await watcher.confirmLive(ctx.api.url, token);
  const runs: ServiceRun[][] = VARIANTS.map(() => []);
  try {
    for (let r = 0; r < ctx.runs; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = (r + k) % VARIANTS.length;
        ctx.log(`loudness round ${r + 1}/${ctx.runs}: ${VARIANTS[v]!.name}`);
        runs[v]!.push(await serviceRun(ctx, `loudness-${v}-${r + 1}`, file, body, token, watcher, VARIANTS[v]!.options));
      }
    }
  } finally {
    await watcher.close();
  }
  const plain = runs[0]!;
  const rows = VARIANTS.map((v, i) => {
    const s = runs[i]!;
    const wallRatio = median(s.map((x, j) => x.processingMs / plain[j]!.processingMs));
    const cpuRatio = median(s.map((x, j) => cpu(x) / cpu(plain[j]!)));
    return { name: v.name, wall: median(s.map((x) => x.processingMs)), cpu: median(s.map(cpu)), wallRatio, cpuRatio };
  });
  const opus = rows[1]!;
  const md =
    `Input: a ${seconds} s cut of the podcast MP3, each variant in a fresh worker (\`--role worker\`), ${ctx.runs} round(s), ` +
    'the order rotating per round; ratios are medians of each run against the plain run of its round. CPU = the worker\'s ' +
    'ffmpeg children plus its node process.\n\n' +
    table(['variant', 'PROCESSING→DONE', 'x plain (wall)', 'CPU', 'x plain (CPU)'],
      rows.map((r) => [r.name, sec(r.wall), ratio(r.wallRatio), `${fmt(r.cpu, 1)} s`, ratio(r.cpuRatio)]));
  return [
    result(ctx, {
      key: 'loudness',
      title: 'Loudness, normalisation and the Opus rendition (issue 20)',
      targets: [{ name: 'Opus rendition', target: '≤ 1.3x the plain run\'s CPU', measured: ratio(opus.cpuRatio), met: ctx.quick ? null : opus.cpuRatio <= 1.3 }],
      markdown: md,
      data: { seconds, runs },
    }),
  ];
}
