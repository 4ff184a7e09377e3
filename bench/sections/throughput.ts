// Target 4: N voice notes completed at once on one worker process (default
// concurrency = CPUs) against the same bare ffmpeg commands run by a plain
// parallel loop with the same parallelism, runs interleaved. CPU is counted
// per process so the gap can be attributed.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type AssetEvent, complete, mapLimit, upload, Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { bareTranscodeArgs, FFMPEG, voiceNotes } from '../lib/inputs.js';
import { pipelinedTranscodes } from '../lib/infra.js';
import { cpuCount, cpuOf, cpuOfComm, machineCpu, nowMs, runPool, timedRun } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, median, ratio, sec } from '../lib/stats.js';

interface ServiceRun {
  ms: number;
  /** Notes DONE or FAILED within the deadline. */
  done: number;
  cpu: CpuSplit;
  failed: number;
  unfinished: number;
  /** Jobs the worker ran as decoder | encoder (it had nothing else running when they started). */
  pipelined: number;
}

interface CpuSplit {
  machine: number;
  ffmpeg: number;
  workerNode: number;
  api: number;
  s3: number;
  postgres: number;
  bench: number;
}

export async function throughputSection(ctx: BenchContext): Promise<SectionResult[]> {
  const count = ctx.quick ? 40 : 200;
  const parallelism = cpuCount();
  const notes = await voiceNotes(ctx.quick ? 15 : 50);
  const files = Array.from({ length: count }, (_, i) => notes[i % notes.length]!);
  const bodies = await Promise.all(notes.map((n) => readFile(n.path)));
  const users = 10;
  const tokens = await Promise.all(Array.from({ length: users }, (_, u) => ctx.token(`throughput-${u}`)));
  const watchers = tokens.map((t) => new Watcher(ctx.api.url, t));
  const worker = await ctx.cluster.startService({ role: 'worker', name: 'throughput-worker' });
  const service: ServiceRun[] = [];
  const deadlineMs = Math.max(60_000, count * 900);
  const bare: { ms: number; cpu: CpuSplit }[] = [];
  try {
    for (const [u, w] of watchers.entries()) {
      await w.start();
      await w.confirmLive(ctx.api.url, tokens[u]!);
    }
    const snapshot = () => {
      const cpu = machineCpu();
      const w = cpuOf(worker.pid)!;
      return { machine: cpu.busySeconds, ffmpeg: 0, workerNode: w.self, api: cpuOf(ctx.api.pid)?.self ?? 0, s3: cpuOf(ctx.cluster.s3.pid)?.self ?? 0, postgres: cpuOfComm('postgres'), bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 };
    };
    // The worker's ffmpeg is what the machine spent beyond the processes read by pid: the
    // sandbox's bwrap does not wait for the ffmpeg in its pid namespace, so its CPU never
    // reaches the worker's reaped-children time.
    const diff = (a: CpuSplit, b: CpuSplit): CpuSplit => {
      const d = {
        machine: b.machine - a.machine, workerNode: b.workerNode - a.workerNode, api: b.api - a.api,
        s3: b.s3 - a.s3, postgres: b.postgres - a.postgres, bench: b.bench - a.bench,
      };
      return { ...d, ffmpeg: Math.max(0, d.machine - d.workerNode - d.api - d.s3 - d.postgres - d.bench) };
    };

    const runService = async (r: number) => {
      ctx.log(`throughput run ${r + 1}/${ctx.runs}: uploading ${count} notes`);
      const uploaded = await mapLimit(files, 8, async (note, i) => ({
        id: await upload(ctx.api.url, tokens[i % users]!, { path: note.path, contentType: note.contentType }, bodies[notes.indexOf(note)]),
        user: i % users,
      }));
      ctx.log(`throughput run ${r + 1}/${ctx.runs}: completing ${count} at once`);
      const pipelinedBefore = await pipelinedTranscodes(worker.url);
      const before = snapshot();
      const started = nowMs();
      await Promise.all(uploaded.map((u) => complete(ctx.api.url, tokens[u.user]!, u.id)));
      // Bounded: a run that has not finished by then is reported as such (rate over what finished).
      const ends = await Promise.allSettled(uploaded.map((u) => watchers[u.user]!.waitFor(u.id, ['DONE', 'FAILED'], deadlineMs)));
      const got = ends.filter((e): e is PromiseFulfilledResult<AssetEvent> => e.status === 'fulfilled').map((e) => e.value);
      const finished = got.length === count ? Math.max(...got.map((e) => e.receivedMs)) : started + deadlineMs;
      const unfinished = count - got.length;
      if (unfinished) {
        ctx.log(`throughput run ${r + 1}: ${unfinished} note(s) not done after ${deadlineMs / 1000} s; dropping their queued jobs`);
        await ctx.cluster.query(`delete from pgboss.job where name = 'process-audio' and state = 'created'`);
      }
      const cpu = diff(before, snapshot());
      const pipelined = (await pipelinedTranscodes(worker.url)) - pipelinedBefore;
      service.push({ ms: finished - started, done: got.length, cpu, failed: got.filter((e) => e.status !== 'DONE').length, unfinished, pipelined });
    };
    const runBare = async (r: number) => {
      ctx.log(`throughput run ${r + 1}/${ctx.runs}: bare ffmpeg loop, ${parallelism} at a time`);
      const before = snapshot();
      let ffmpegCpu = 0;
      const elapsed = await runPool(
        files.map((note, i) => async () => {
          const out = path.join(ctx.scratch, `tp-${i % parallelism}-${i}.m4a`);
          const b = await timedRun(FFMPEG, bareTranscodeArgs(note.path, out));
          if (b.exitCode !== 0) throw new Error(`bare ffmpeg failed: ${b.stderr.slice(-300)}`);
          ffmpegCpu += (b.userSeconds ?? 0) + (b.systemSeconds ?? 0);
          await rm(out, { force: true });
        }),
        parallelism,
      );
      bare.push({ ms: elapsed, cpu: { ...diff(before, snapshot()), ffmpeg: ffmpegCpu } });
    };
    for (let r = 0; r < ctx.runs; r++) {
      if (r % 2 === 0) {
        await runBare(r);
        await runService(r);
      } else {
        await runService(r);
        await runBare(r);
      }
    }
  } finally {
    for (const w of watchers) await w.close();
    await worker.stop();
  }
  return [report(ctx, count, parallelism, service, bare, deadlineMs)];
}

function report(ctx: BenchContext, count: number, parallelism: number, service: ServiceRun[], bare: { ms: number; cpu: CpuSplit }[], deadlineMs: number): SectionResult {
  const svcRate = median(service.map((s) => s.done / (s.ms / 1000)));
  const unfinished = service.reduce((a, s) => a + s.unfinished, 0);
  const bareRate = median(bare.map((b) => count / (b.ms / 1000)));
  const rel = svcRate / bareRate;
  const failed = service.reduce((a, s) => a + s.failed, 0);
  const rows = service.map((s, i) => [i + 1, sec(bare[i]!.ms), `${fmt(count / (bare[i]!.ms / 1000), 1)}/s`,
    s.unfinished ? `${s.done}/${count} done at the ${sec(deadlineMs, 0)} limit` : sec(s.ms), `${fmt(s.done / (s.ms / 1000), 1)}/s`, ratio((s.done / (s.ms / 1000)) / (count / (bare[i]!.ms / 1000)))]);
  rows.push(['**median**', '', `**${fmt(bareRate, 1)}/s**`, '', `**${fmt(svcRate, 1)}/s**`, `**${ratio(rel)}**`]);
  const per = (v: number) => `${fmt(v * 1000, 1)} ms`;
  // CPU seconds per note that finished (a cut-off run did less work for its CPU).
  const cpuMed = (pick: (c: CpuSplit) => number, list: { cpu: CpuSplit; done?: number }[]) => median(list.map((x) => pick(x.cpu) / (x.done ?? count)));
  const cpuRows: (string | number)[][] = [
    ['ffmpeg', per(cpuMed((c) => c.ffmpeg, service)), per(cpuMed((c) => c.ffmpeg, bare))],
    ['worker node process', per(cpuMed((c) => c.workerNode, service)), '—'],
    ['API node process', per(cpuMed((c) => c.api, service)), '—'],
    ['S3 server process', per(cpuMed((c) => c.s3, service)), '—'],
    ['PostgreSQL (all backends)', per(cpuMed((c) => c.postgres, service)), per(cpuMed((c) => c.postgres, bare))],
    ['bench process (clients, timers)', per(cpuMed((c) => c.bench, service)), per(cpuMed((c) => c.bench, bare))],
    ['**whole machine**', `**${per(cpuMed((c) => c.machine, service))}**`, `**${per(cpuMed((c) => c.machine, bare))}**`],
  ];
  const md =
    `${count} voice notes (the 5-30 s notes of section 3, in turn) are prepared and uploaded by 10 users, then all ` +
    `completed at once; time = first completeAudioUpload sent to the last DONE received. One worker process, default ` +
    `concurrency (${parallelism} = CPUs). Baseline = the bare transcode command of each same local file, ${parallelism} at a ` +
    `time, spawned by a plain loop in the bench. Runs alternate. A run is cut off after ${sec(deadlineMs, 0)} (its rate is then ` +
    `what finished over that time). ${failed} note(s) failed, ${unfinished} unfinished at the limit. Jobs that found the ` +
    `worker running nothing else, so ran as decoder | encoder (README, "A long job alone gets two cores"): ` +
    `${service.map((s) => s.pipelined).join(', ')} of ${count} per run.\n\n` +
    table(['run', 'bare loop', 'bare rate', 'service', 'service rate', 'ratio'], rows) +
    `\n\nCPU per note (median over runs; the service's ffmpeg is the machine's CPU beyond the processes read from ` +
    `/proc/<pid>/stat, the bare loop's ffmpeg from its own reaped time, the machine's from /proc/stat):\n\n` +
    table(['', 'service', 'bare loop'], cpuRows);
  return result(ctx, {
    key: 'throughput',
    title: `4. Throughput: ${count} notes at once, one worker`,
    targets: [{ name: '4. Throughput', target: '≥ 0.8x the bare parallel loop', measured: `${ratio(rel)} (${fmt(svcRate, 1)}/s vs ${fmt(bareRate, 1)}/s)`, met: ctx.quick ? null : rel >= 0.8 && failed === 0 && unfinished === 0 }],
    markdown: md,
    data: { service, bare },
  });
}
