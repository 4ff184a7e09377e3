// Issue 8: recovery time after SIGKILL. Two worker processes; a job that
// takes ~20 s on its own; the worker running it is SIGKILLed mid-transcode;
// time from the kill to the DONE event (the other worker finishing it).
import { readFile } from 'node:fs/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { complete, upload, Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { benchStorage, type ServiceProcess, sleep } from '../lib/infra.js';
import { cutMp3, podcastMp3 } from '../lib/inputs.js';
import { nowMs, processTree } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { median, sec } from '../lib/stats.js';

interface Recovery {
  jobMs: number;
  killAfterMs: number;
  detectMs: number | null;
  recoveryMs: number;
  orphanFfmpegGoneMs: number | null;
  outputs: number;
  originalLeft: boolean;
}

export async function recoverySection(ctx: BenchContext): Promise<SectionResult[]> {
  const jobAudioSeconds = ctx.quick ? 1200 : 2400;
  const file = await cutMp3(await podcastMp3(ctx.quick ? 1200 : 7200), jobAudioSeconds);
  const body = await readFile(file);
  const token = await ctx.token('recovery-user');
  const watcher = new Watcher(ctx.api.url, token);
  const storage = benchStorage(ctx.cluster.s3);
  const exists = async (key: string) => {
    try {
      await storage.client.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  };
  const workers: ServiceProcess[] = [];
  let n = 0;
  const addWorker = async () => workers.push(await ctx.cluster.startService({ role: 'worker', name: `recovery-worker-${++n}` }));
  try {
    await addWorker();
    await addWorker();
    await watcher.start();
    await watcher.confirmLive(ctx.api.url, token);

    ctx.log(`recovery: reference job (${jobAudioSeconds} s of audio), no kill`);
    const refId = await upload(ctx.api.url, token, { path: file, contentType: 'audio/mpeg' }, body);
    await complete(ctx.api.url, token, refId);
    const refStart = await watcher.waitFor(refId, ['PROCESSING'], 30_000);
    const refDone = await watcher.waitFor(refId, ['DONE', 'FAILED'], 10 * 60_000);
    const jobMs = refDone.receivedMs - refStart.receivedMs;

    const runs: Recovery[] = [];
    for (let r = 0; r < Math.min(ctx.runs, 2); r++) {
      ctx.log(`recovery run ${r + 1}: SIGKILL of the worker running the job, mid-transcode`);
      const id = await upload(ctx.api.url, token, { path: file, contentType: 'audio/mpeg' }, body);
      await complete(ctx.api.url, token, id);
      const started = await watcher.waitFor(id, ['PROCESSING'], 30_000);
      const killAfterMs = Math.min(5000, jobMs / 3);
      await sleep(killAfterMs);
      let victim: ServiceProcess | undefined;
      let ffmpegPid: number | undefined;
      for (let tries = 0; !victim && tries < 50; tries++) {
        for (const w of workers) {
          const ff = processTree(w.pid).find((p) => p.comm === 'ffmpeg');
          if (ff) [victim, ffmpegPid] = [w, ff.pid];
        }
        if (!victim) await sleep(100);
      }
      if (!victim) throw new Error('no worker is running ffmpeg for the job');
      victim.kill9();
      const killedAt = nowMs();
      workers.splice(workers.indexOf(victim), 1);

      let detectMs: number | null = null;
      let orphanGoneMs: number | null = null;
      const deadline = killedAt + 10 * 60_000;
      let done = watcher.first(id, 'DONE') ?? watcher.first(id, 'FAILED');
      while (!done && nowMs() < deadline) {
        if (detectMs === null) {
          const row = await ctx.cluster.query(`select state, retry_count from pgboss.job where name = 'process-audio' and data->>'assetId' = $1`, [id]);
          const j = row.rows[0];
          if (j && Number(j.retry_count) > 0 && j.state === 'active') detectMs = nowMs() - killedAt;
        }
        if (orphanGoneMs === null && ffmpegPid !== undefined && processTree(ffmpegPid).length === 0) orphanGoneMs = nowMs() - killedAt;
        await sleep(100);
        done = watcher.first(id, 'DONE') ?? watcher.first(id, 'FAILED');
      }
      if (!done) throw new Error(`asset ${id} did not finish within 10 minutes of the kill`);
      if (done.status !== 'DONE') throw new Error(`asset ${id} ended ${done.status} after the kill`);
      runs.push({
        jobMs,
        killAfterMs: killedAt - started.receivedMs,
        detectMs,
        recoveryMs: done.receivedMs - killedAt,
        orphanFfmpegGoneMs: orphanGoneMs,
        outputs: (await exists(`audio/${id}.m4a`)) ? 1 : 0,
        originalLeft: await exists(`uploads/${id}`),
      });
      await victim.stop(1000);
      await addWorker();
    }
    return [report(ctx, jobAudioSeconds, jobMs, runs)];
  } finally {
    storage.close();
    await watcher.close();
    for (const w of [...workers]) await w.stop();
  }
}

function report(ctx: BenchContext, audioSeconds: number, jobMs: number, runs: Recovery[]): SectionResult {
  const rec = median(runs.map((r) => r.recoveryMs));
  const rows = runs.map((r, i) => [
    i + 1,
    sec(r.killAfterMs, 1),
    r.orphanFfmpegGoneMs === null ? 'not seen' : sec(r.orphanFfmpegGoneMs, 1),
    r.detectMs === null ? 'not seen' : sec(r.detectMs, 1),
    `**${sec(r.recoveryMs, 1)}**`,
    r.outputs,
    r.originalLeft ? 'yes' : 'no',
  ]);
  const md =
    `Two worker processes (\`--role worker\`). Reference: the same job (an MP3 of ${audioSeconds / 60} minutes) without a kill takes ` +
    `${sec(jobMs, 1)} (PROCESSING → DONE). Then, ${runs.length} time(s): the worker whose process tree holds the job's ffmpeg is ` +
    `SIGKILLed a few seconds into the transcode; the job's heartbeat (10 s) lapses, pg-boss's supervisor (every 1 s) retries it, ` +
    `and the other worker runs it again from the start. A new worker is started after each kill.\n\n` +
    table(['run', 'killed after PROCESSING', "killed worker's ffmpeg gone", 'job picked up again', 'kill → DONE', 'audio/<id>.m4a', 'original left'], rows);
  return result(ctx, {
    key: 'recovery',
    title: 'Recovery after SIGKILL (issue 8)',
    targets: [{ name: 'Recovery (issue 8)', target: `kill → DONE < 60 s for a job under 20 s`, measured: `${sec(rec, 1)} (job alone: ${sec(jobMs, 1)})`, met: ctx.quick ? null : rec < 60_000 }],
    markdown: md,
    data: { jobMs, runs },
  });
}
