// Fair processing (issue 21): (a) mixed load: 4 long files processing (one
// per user, so every slot holds one) while voice notes are completed one
// every 200 ms: each note's complete -> DONE, and the long files' total
// against the same 4 alone, in the same run; (b) two users: A's 20 long
// files queued, then B's 1: how many of A's start between B queueing and B
// starting.
import { readFile } from 'node:fs/promises';
import { complete, gql, upload, Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import type { ServiceProcess } from '../lib/infra.js';
import { cutMp3, podcastMp3, voiceNotes } from '../lib/inputs.js';
import { cpuCount, nowMs } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, ms, quantile, ratio, sec } from '../lib/stats.js';

const DELETE = /* GraphQL */ `mutation($id: ID!) { deleteAudioAsset(id: $id) }`;
const LONG = { contentType: 'audio/mpeg' };

interface User { name: string; token: string; watcher: Watcher }

async function users(ctx: BenchContext, names: string[]): Promise<User[]> {
  return Promise.all(names.map(async (name) => {
    const token = await ctx.token(name);
    const watcher = new Watcher(ctx.api.url, token);
    await watcher.start();
    await watcher.confirmLive(ctx.api.url, token);
    return { name, token, watcher };
  }));
}

const closeAll = (list: User[]) => Promise.all(list.map((u) => u.watcher.close()));

/** Uploads one long file per user, completes them all, and returns when every one is DONE: ms from the first complete to the last DONE. */
async function longBatch(ctx: BenchContext, longUsers: User[], path: string, body: Buffer, during?: () => Promise<void>): Promise<number> {
  const ids = await Promise.all(longUsers.map((u) => upload(ctx.api.url, u.token, { path, ...LONG }, body)));
  const started = nowMs();
  await Promise.all(longUsers.map((u, i) => complete(ctx.api.url, u.token, ids[i]!)));
  const extra = during?.();
  const done = await Promise.all(longUsers.map((u, i) => u.watcher.waitFor(ids[i]!, ['DONE', 'FAILED'], 3_600_000)));
  await extra;
  const failed = done.filter((e) => e.status !== 'DONE').length;
  if (failed) throw new Error(`${failed} long file(s) FAILED`);
  return Math.max(...done.map((e) => e.receivedMs)) - started;
}

async function mixed(ctx: BenchContext, worker: ServiceProcess): Promise<SectionResult> {
  const seconds = ctx.quick ? 300 : 7200;
  const count = ctx.quick ? 10 : 50;
  ctx.log(`fairness: inputs (${seconds}-s MP3, ${count} voice notes; cached)`);
  const longPath = await podcastMp3(seconds);
  const longBody = await readFile(longPath);
  const notes = await voiceNotes(count);
  const noteBodies = await Promise.all(notes.map((n) => readFile(n.path)));
  const longUsers = await users(ctx, ['fair-long-1', 'fair-long-2', 'fair-long-3', 'fair-long-4']);
  const [talker] = await users(ctx, ['fair-talker']);
  try {
    ctx.log('fairness: 4 long files alone');
    const aloneMs = await longBatch(ctx, longUsers, longPath, longBody);
    const latencies: number[] = [];
    let failed = 0;
    const sendNotes = async () => {
      // Every ordinary slot of the worker (default concurrency: CPUs) holds a long file before the first note.
      await waitProcessing(longUsers, Math.min(longUsers.length, cpuCount()));
      const ids = await Promise.all(notes.map((n, i) => upload(ctx.api.url, talker!.token, n, noteBodies[i])));
      const pending: Promise<void>[] = [];
      for (const id of ids) {
        const sent = nowMs();
        await complete(ctx.api.url, talker!.token, id);
        const returned = nowMs();
        pending.push(talker!.watcher.waitFor(id, ['DONE', 'FAILED'], 600_000).then((e) => {
          if (e.status === 'DONE') latencies.push(e.receivedMs - returned);
          else failed++;
        }));
        await new Promise((r) => setTimeout(r, Math.max(0, 200 - (nowMs() - sent))));
      }
      await Promise.all(pending);
    };
    ctx.log(`fairness: the same 4 long files with ${count} voice notes, one every 200 ms`);
    const mixedMs = await longBatch(ctx, longUsers, longPath, longBody, sendNotes);
    const p50 = quantile(latencies, 0.5);
    const p95 = quantile(latencies, 0.95);
    const slowdown = mixedMs / aloneMs;
    const md =
      `One worker process (default concurrency, plus as many voice-note slots); 4 users with one ${fmt(seconds / 60)}-minute MP3 each, ` +
      `then the same with ${count} voice notes (5-30 s, Opus/WebM/M4A) completed one every 200 ms by a fifth user once long ` +
      `files held every ordinary slot. Latency = completeAudioUpload response -> DONE event. ${failed} note(s) failed.\n\n` +
      table(['', 'value'], [
        ['voice note complete -> DONE, p50', ms(p50)],
        ['voice note complete -> DONE, p95', ms(p95)],
        ['4 long files alone (first complete -> last DONE)', sec(aloneMs)],
        ['4 long files with the voice notes', sec(mixedMs)],
        ['with notes / alone', ratio(slowdown, 3)],
      ]) + `\n\nWorker: ${worker.name}.`;
    return result(ctx, {
      key: 'fairness',
      title: '7. Fair processing: voice notes under a long-file backlog',
      targets: [
        { name: '7. Mixed load', target: 'voice note p50 < 500 ms', measured: ms(p50), met: ctx.quick ? null : p50 < 500 && failed === 0 },
        { name: '7. Mixed load', target: 'voice note p95 < 1 s', measured: ms(p95), met: ctx.quick ? null : p95 < 1000 && failed === 0 },
        { name: '7. Mixed load', target: 'long files <= 1.10x alone', measured: ratio(slowdown, 3), met: ctx.quick ? null : slowdown <= 1.1 },
      ],
      markdown: md,
      data: { latencies, aloneMs, mixedMs },
    });
  } finally {
    await closeAll([...longUsers, talker!]);
  }
}

/** Resolves once `n` of the users have an asset PROCESSING (each has one long file in this section). */
function waitProcessing(list: User[], n: number): Promise<void> {
  const processing = (u: User) => [...u.watcher.events.values()].some((events) => events.some((e) => e.status === 'PROCESSING'));
  return new Promise((resolve) => {
    const check = () => (list.filter(processing).length >= n ? resolve() : setTimeout(check, 20));
    check();
  });
}

async function twoUsers(ctx: BenchContext): Promise<SectionResult> {
  // Over 2 MiB so that it is a long file: 10 minutes (quick: 150 s).
  const longPath = await cutMp3(await podcastMp3(ctx.quick ? 300 : 7200), ctx.quick ? 150 : 600);
  const body = await readFile(longPath);
  const [a, b] = await users(ctx, ['fair-a', 'fair-b']);
  try {
    const aIds: string[] = [];
    for (let i = 0; i < 20; i++) aIds.push(await upload(ctx.api.url, a!.token, { path: longPath, ...LONG }, body));
    const bId = await upload(ctx.api.url, b!.token, { path: longPath, ...LONG }, body);
    for (const id of aIds) await complete(ctx.api.url, a!.token, id);
    const bQueued = nowMs();
    await complete(ctx.api.url, b!.token, bId);
    const bStart = await b!.watcher.waitFor(bId, ['PROCESSING', 'FAILED'], 3_600_000);
    const aBetween = aIds.filter((id) => {
      const s = a!.watcher.first(id, 'PROCESSING');
      return s !== undefined && s.receivedMs >= bQueued && s.receivedMs < bStart.receivedMs;
    }).length;
    const aBefore = aIds.filter((id) => (a!.watcher.first(id, 'PROCESSING')?.receivedMs ?? Infinity) < bQueued).length;
    await b!.watcher.waitFor(bId, ['DONE', 'FAILED'], 3_600_000);
    // A's backlog must not run on into later sections.
    for (const id of aIds) await gql(ctx.api.url, a!.token, DELETE, { id }).catch(() => {});
    const md =
      `User A completes 20 files of ${ctx.quick ? '150 s' : '10 minutes'} (${fmt(body.length / 1e6, 1)} MB each, the long lane), ` +
      `then user B completes 1. A's files processing when B queued: ${aBefore}; A's files started after B queued and before B: ` +
      `**${aBetween}**; B queued -> PROCESSING: ${ms(bStart.receivedMs - bQueued)}.`;
    return result(ctx, {
      key: 'fairness-users',
      title: "7b. Fair processing: one user's backlog and another user's file",
      targets: [{ name: '7b. Two users', target: "B starts before A's third-next file", measured: `${aBetween} of A's started first`, met: aBetween <= 2 }],
      markdown: md,
      data: { aBetween, aBefore, waitMs: bStart.receivedMs - bQueued },
    });
  } finally {
    await closeAll([a!, b!]);
  }
}

export async function fairnessSection(ctx: BenchContext): Promise<SectionResult[]> {
  const worker = await ctx.cluster.startService({ role: 'worker', name: 'fairness-worker' });
  try {
    return [await mixed(ctx, worker), await twoUsers(ctx)];
  } finally {
    await worker.stop();
  }
}
