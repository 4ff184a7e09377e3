// Where a voice note's time goes outside ffmpeg. One worker runs under
// `node --cpu-prof`, with its database connection through a counting proxy
// (bench/lib/pg-proxy.ts) and FFMPEG_PATH set to a bash wrapper that stamps
// ffmpeg's start and end; the S3 server records the requests it serves.
// Notes are processed one at a time; per note the timeline is stitched from
// the bench's receipts, pg-boss's job timestamps and the wrapper's stamps.
import { mkdir, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { summarize } from '../lib/cpuprofile.js';
import { InspectorProfiler } from '../lib/inspector.js';
import { sleep, WORK_DIR } from '../lib/infra.js';
import { voiceNotes } from '../lib/inputs.js';
import { cpuOf, nodeJson, nowMs, writeScript } from '../lib/proc.js';
import { PgCountingProxy, type RoundTrip } from '../lib/pg-proxy.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, mb, median, ms, quantile } from '../lib/stats.js';
import { assetBody, cannon, prepareBody, seedDoneAssets, TYPENAME_BODY } from './api.js';
import { jobStamps, type NoteTiming, processNotesSequentially } from './voice.js';

// The wrapper runs inside ffmpeg's sandbox, where no file of the bench's is
// writable but the network is shared: it sends its stamps over TCP (bash's
// /dev/tcp, no extra process) to a collector in the bench.
const wrapperScript = (realFfmpeg: string, port: number) => `# Bench wrapper: stamps the start and end of each transcode (EPOCHREALTIME is a bash builtin: no extra process).
job=
for a in "$@"; do case "$a" in */audio-job-*) job="$a";; esac; done
[ -n "$job" ] && echo "start $EPOCHREALTIME $job" > /dev/tcp/127.0.0.1/${port}
${JSON.stringify(realFfmpeg)} "$@"
rc=$?
[ -n "$job" ] && echo "end $EPOCHREALTIME $rc $job" > /dev/tcp/127.0.0.1/${port}
exit $rc
`;

/** Collects the wrapper's stamp lines, one connection each. */
async function startStampCollector(): Promise<{ port: number; text: () => string; close: () => void }> {
  let text = '';
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // never what keeps the bench alive
  return { port: (server.address() as net.AddressInfo).port, text: () => text, close: () => server.close() };
}

/** The API process under autocannon load, profiled: where prepareAudioUpload's and asset(id)'s time goes. */
async function profileApi(ctx: BenchContext, dir: string): Promise<string> {
  const seconds = ctx.quick ? 3 : 6;
  const api = await ctx.cluster.startService({ role: 'api', name: 'profile-api', nodeArgs: ['--inspect=127.0.0.1:0'] });
  const rows: (string | number)[][] = [];
  const tops: string[] = [];
  try {
    const profiler = await InspectorProfiler.attach(api.logFile);
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => ctx.token(`profile-api-${i}`)));
    const ids = await seedDoneAssets(ctx, api.url, tokens.slice(0, 50));
    await cannon(api.url, 2, tokens.map(() => TYPENAME_BODY), tokens); // warm-up
    for (const [name, bodies, who] of [
      ['__typename', tokens.map(() => TYPENAME_BODY), tokens],
      ['prepareAudioUpload', tokens.map((_, i) => prepareBody(i)), tokens],
      ['asset(id)', ids.map(assetBody), tokens.slice(0, 50)],
    ] as const) {
      ctx.log(`profile: API under autocannon, ${name}, ${seconds} s`);
      const file = path.join(dir, `api-${name.replace(/\W+/g, '')}.cpuprofile`);
      await profiler.start();
      const r = await cannon(api.url, seconds, [...bodies], [...who]);
      await profiler.stop(file);
      const s = await summarize(file);
      const per = (v: number) => fmt((1000 * v) / Math.max(1, r.ok), 0);
      rows.push([name, fmt(r.okPerSecond, 0), `${per(s.busyMs)} µs`, s.byOwner.slice(0, 10).map((o) => `${o.owner} ${per(o.ms)}`).join(', ')]);
      tops.push(`- ${name}: ` + s.byFunction.slice(0, 8).map((f) => `\`${f.fn}\` (${f.owner}) ${per(f.ms)} µs`).join('; '));
      await sleep(300);
    }
    profiler.close();
  } finally {
    await api.stop(3000);
  }
  return (
    `\n\n**API process** under autocannon (16 connections, ${seconds} s each, users rotating), profiled through its inspector ` +
    `(V8's CPU profiler, 0.5 ms sampling; files \`${path.relative(process.cwd(), dir)}/api-*.cpuprofile\`). CPU per successful request:\n\n` +
    table(['request', 'req/s (profiled)', 'busy CPU per request', 'top owners, µs per request'], rows) +
    '\n\nTop functions by self time, µs per request:\n\n' + tops.join('\n')
  );
}

/** RSS of a fresh node process after importing each group of modules (median of 3). */
async function importFloors(): Promise<Record<string, number>> {
  const script = path.join(import.meta.dirname, '../probes/import-rss.js');
  const out: Record<string, number> = {};
  for (const group of ['none', 'worker', 'api', 'worker-role', 'api-role']) {
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) samples.push((await nodeJson<{ rssBytes: number }>(script, [group])).rssBytes);
    out[group] = median(samples);
  }
  return out;
}

export async function profileSection(ctx: BenchContext): Promise<SectionResult[]> {
  const count = ctx.quick ? 10 : 20;
  const dir = path.join(WORK_DIR, 'profile');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const stampCollector = await startStampCollector();
  const wrapper = await writeScript(path.join(dir, 'ffmpeg-wrapper.sh'), wrapperScript('/usr/bin/ffmpeg', stampCollector.port));
  const db = new URL(ctx.cluster.db.url);
  const proxy = new PgCountingProxy({ host: db.hostname, port: Number(db.port || 5432) });
  const proxyPort = await proxy.start();
  const proxied = new URL(db);
  proxied.host = `127.0.0.1:${proxyPort}`;

  const notes = await voiceNotes(count + 3);
  const worker = await ctx.cluster.startService({
    role: 'worker',
    name: 'profile-worker',
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '500'],
    env: { FFMPEG_PATH: wrapper },
    databaseUrl: proxied.toString(),
  });
  const token = await ctx.token('profile-user');
  const watcher = new Watcher(ctx.api.url, token);
  let timings: NoteTiming[];
  let idleTripsPerSecond: number;
  let phase: { from: number; to: number };
  let workerCpuSeconds: number;
  let s3: Awaited<ReturnType<typeof ctx.cluster.s3.take>>;
  let stoppedAt: number;
  try {
    await watcher.start();
    await watcher.confirmLive(ctx.api.url, token);
    ctx.log('profile: 3 warm-up notes, then 5 s idle to measure the background database traffic');
    await processNotesSequentially(ctx, ctx.api.url, token, watcher, notes.slice(0, 3), false);
    await sleep(1000);
    const idleFrom = nowMs();
    const idleStart = proxy.trips.length;
    await sleep(5000);
    idleTripsPerSecond = (proxy.trips.length - idleStart) / ((nowMs() - idleFrom) / 1000);
    ctx.log(`profile: ${count} notes, one at a time`);
    ctx.cluster.s3.record();
    const cpu0 = cpuOf(worker.pid)!.self;
    const from = nowMs();
    timings = await processNotesSequentially(ctx, ctx.api.url, token, watcher, notes.slice(3), false);
    phase = { from, to: nowMs() };
    workerCpuSeconds = cpuOf(worker.pid)!.self - cpu0;
    s3 = await ctx.cluster.s3.take();
    await sleep(200);
  } finally {
    await watcher.close();
    await worker.stop();
    stoppedAt = nowMs();
    await proxy.stop();
  }
  const stamps = await jobStamps(ctx, timings.map((t) => t.id));
  const ffmpegTimes = parseStamps(stampCollector.text());
  stampCollector.close();
  const profileFile = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  const profile = profileFile
    ? await summarize(path.join(dir, profileFile), { fromEndMs: stoppedAt - phase.from, toEndMs: stoppedAt - phase.to })
    : null;
  const workerReport = report(ctx, { timings, stamps, ffmpegTimes, trips: proxy.trips, idleTripsPerSecond, phase, workerCpuSeconds, s3, profile, profileFile: profileFile ? path.join(dir, profileFile) : null });
  workerReport.markdown += await profileApi(ctx, dir);
  const floors = await importFloors();
  workerReport.markdown +=
    `\n\n**Memory floor of a worker process**: resident set of a fresh node process (Node ${process.version}) after importing ` +
    `only these modules (bench/probes/import-rss.ts, median of 3):\n\n` +
    table(['imports', 'RSS'], [
      ['nothing', mb(floors['none']!)],
      ["the worker's own dependencies (pg-boss, MikroORM, AWS SDK, file-type, pino, the entity)", mb(floors['worker']!)],
      ['the API stack alone (Apollo Server, type-graphql, express, graphql-ws, ws)', mb(floors['api']!)],
      ['what a `--role worker` process imports (app.js, jobs/worker.js, server/probe-http.js)', mb(floors['worker-role']!)],
      ['what a `--role api` process imports (app.js, server/api-role.js)', mb(floors['api-role']!)],
    ]);
  return [workerReport];
}

function parseStamps(text: string): Map<string, { start: number; end: number; rc: number }> {
  const out = new Map<string, { start: number; end: number; rc: number }>();
  for (const line of text.split('\n')) {
    const m = /^(start|end) ([\d.]+) (?:(\d+) )?.*audio-job-(?:\d+-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-/.exec(line);
    if (!m) continue;
    const id = m[4]!;
    const t = Number(m[2]) * 1000;
    const entry = out.get(id) ?? { start: NaN, end: NaN, rc: -1 };
    if (m[1] === 'start') entry.start = t;
    else [entry.end, entry.rc] = [t, Number(m[3])];
    out.set(id, entry);
  }
  return out;
}

interface ProfileData {
  timings: NoteTiming[];
  stamps: Awaited<ReturnType<typeof jobStamps>>;
  ffmpegTimes: Map<string, { start: number; end: number; rc: number }>;
  trips: RoundTrip[];
  idleTripsPerSecond: number;
  phase: { from: number; to: number };
  workerCpuSeconds: number;
  s3: { atMs: number; method: string; path: string; agent: string; range: boolean }[];
  profile: Awaited<ReturnType<typeof summarize>> | null;
  profileFile: string | null;
}

// By user agent: ffmpeg (Lavf), the service's AWS SDK (the API's HEAD at completion, every other one the
// worker's), or the client (the bench's fetch: the presigned PUT of the upload).
const agentOf = (ua: string) => (ua.startsWith('Lavf') ? 'ffmpeg' : ua.includes('aws-sdk') ? 'AWS SDK' : 'client');

function report(ctx: BenchContext, d: ProfileData): SectionResult {
  const n = d.timings.length;
  const seg = (f: (t: NoteTiming) => number) => d.timings.map(f).filter(Number.isFinite);
  const st = (t: NoteTiming) => d.stamps.get(t.id);
  const ff = (t: NoteTiming) => d.ffmpegTimes.get(t.id);
  const segments: [string, number[]][] = [
    ['completeAudioUpload call (API: find, HEAD, transaction + job insert, find)', seg((t) => t.completeReturnedMs - t.completeSentMs)],
    ['complete returned → job started (pg-boss pickup, DB clock)', seg((t) => (st(t)?.startedMs ?? NaN) - t.completeReturnedMs)],
    ['job started → ffmpeg started (find, PROCESSING, gate GET, detectedType, mkdtemp, presign, spawn)', seg((t) => (ff(t)?.start ?? NaN) - (st(t)?.startedMs ?? NaN))],
    ['ffmpeg running (HTTP input, 2 outputs)', seg((t) => (ff(t)?.end ?? NaN) - (ff(t)?.start ?? NaN))],
    ['ffmpeg ended → DONE received (box check, PUT M4A, record, DELETE original, DONE, NOTIFY → API → socket)', seg((t) => t.doneMs - (ff(t)?.end ?? NaN))],
    ['**complete returned → DONE received**', seg((t) => t.doneMs - t.completeReturnedMs)],
    ['DONE received → pg-boss job completed (DB clock)', seg((t) => (st(t)?.completedMs ?? NaN) - t.doneMs)],
  ];
  const outside = seg((t) => t.doneMs - t.completeReturnedMs - ((ff(t)?.end ?? NaN) - (ff(t)?.start ?? NaN)));

  // Database round trips made by the worker per note, background traffic subtracted.
  const phaseSeconds = (d.phase.to - d.phase.from) / 1000;
  const inPhase = d.trips.filter((t) => t.atMs >= d.phase.from && t.atMs <= d.phase.to);
  const perJob = (inPhase.length - d.idleTripsPerSecond * phaseSeconds) / n;
  const byApp = new Map<string, number>();
  for (const t of inPhase) byApp.set(t.app, (byApp.get(t.app) ?? 0) + 1);
  // One representative note: the median one by latency; its trips, S3 requests, in order.
  const sorted = [...d.timings].sort((a, b) => a.doneMs - a.completeReturnedMs - (b.doneMs - b.completeReturnedMs));
  const rep = sorted[Math.floor(sorted.length / 2)]!;
  const repFrom = rep.completeSentMs;
  const repTo = (st(rep)?.completedMs ?? rep.doneMs) + 20;
  const events: [number, string, string][] = [];
  for (const t of d.trips) if (t.atMs >= repFrom && t.atMs <= repTo) events.push([t.atMs - rep.completeReturnedMs, `DB (${t.app})`, t.sql.slice(0, 110)]);
  for (const r of d.s3) if (r.atMs >= repFrom && r.atMs <= repTo) events.push([r.atMs - rep.completeReturnedMs, `S3 ${r.method}${r.range ? ' (Range)' : ''} by ${agentOf(r.agent)}`, r.path.replace(/[0-9a-f-]{36}/, '<id>')]);
  const f = ff(rep);
  if (f) events.push([f.start - rep.completeReturnedMs, 'ffmpeg', 'started (wrapper stamp)'], [f.end - rep.completeReturnedMs, 'ffmpeg', `exited ${f.rc}`]);
  events.push([rep.doneMs - rep.completeReturnedMs, 'bench', 'DONE event received']);
  if (rep.processingMs) events.push([rep.processingMs - rep.completeReturnedMs, 'bench', 'PROCESSING event received']);
  events.sort((a, b) => a[0] - b[0]);

  const s3ByKind = new Map<string, number>();
  for (const r of d.s3) {
    const k = `${r.method}${r.range ? ' (Range)' : ''} by ${agentOf(r.agent)}`;
    s3ByKind.set(k, (s3ByKind.get(k) ?? 0) + 1);
  }

  let md =
    `${n} voice notes (5-30 s), one at a time, through one worker started with \`node --cpu-prof\`, its database ` +
    `connections through a counting proxy (one round trip = a simple Query or an extended-protocol Sync) and FFMPEG_PATH ` +
    `set to a bash wrapper that stamps ffmpeg's start and end (the wrapper adds a bash start, ~2 ms). Instrumented, so ` +
    `absolute times are a little higher than in section 3.\n\n` +
    table(['segment (per note)', 'p50', 'p95'], segments.map(([name, v]) => [name, ms(quantile(v, 0.5)), ms(quantile(v, 0.95))])) +
    `\n\nOutside ffmpeg per note (complete returned → DONE, minus ffmpeg's run): p50 ${ms(quantile(outside, 0.5))}, p95 ${ms(quantile(outside, 0.95))}.\n\n` +
    `**Database**: ${fmt(perJob, 1)} round trips per note made by the worker (${inPhase.length} in the phase, minus background ` +
    `traffic of ${fmt(d.idleTripsPerSecond, 1)}/s measured while idle), by connection: ` +
    [...byApp].map(([app, c]) => `${app || '(no application_name)'} ${fmt(c / n, 1)}`).join(', ') + ` (per note, background included).\n\n` +
    `**S3** requests during the phase, per note: ` + [...s3ByKind].map(([k, c]) => `${k} ${fmt(c / n, 1)}`).join(', ') +
    ` (the AWS SDK's HEAD is the API's check in completeAudioUpload, its other requests are the worker's; the client's PUT is the upload).\n\n` +
    `**Worker CPU** (node process only, /proc): ${fmt((d.workerCpuSeconds * 1000) / n, 1)} ms per note.\n\n` +
    `One note in detail (the median one, ${rep.format}, ${rep.seconds} s; times from completeAudioUpload's response, S3 and DB ` +
    `requests as their servers/proxy saw them):\n\n` +
    table(['t (ms)', 'who', 'what'], events.map(([t, who, what]) => [fmt(t, 1), who, `\`${what}\``]));
  if (d.profile) {
    const p = d.profile;
    md +=
      `\n\nCPU profile of the worker's node process during the ${fmt(p.windowMs / 1000, 1)} s of the ${n} notes ` +
      `(sampling every 0.5 ms; ${fmt(p.busyMs, 0)} ms busy, ${fmt(p.busyMs / n, 1)} ms per note; file \`${path.relative(process.cwd(), d.profileFile!)}\`):\n\n` +
      table(['where', 'self ms per note', 'share'], p.byOwner.slice(0, 12).map((o) => [o.owner, fmt(o.ms / n, 2), `${fmt((100 * o.ms) / p.busyMs, 0)}%`])) +
      '\n\nTop functions by self time:\n\n' +
      table(['function', 'where', 'self ms per note'], p.byFunction.slice(0, 12).map((f) => [`\`${f.fn}\``, f.owner, fmt(f.ms / n, 2)]));
  }
  return result(ctx, {
    key: 'profile',
    title: 'Profile: a voice note outside ffmpeg',
    targets: [],
    markdown: md,
    data: { segments: segments.map(([name, v]) => ({ name, p50: quantile(v, 0.5), p95: quantile(v, 0.95) })), perJob, outsideP50: median(outside) },
  });
}
