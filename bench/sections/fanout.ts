// Target 6: many graphql-ws subscribers, each watching its own asset, spread
// over 2 API processes; one UPDATE changes all their assets (the harshest
// case: every NOTIFY arrives in one burst at commit) and every subscriber's
// receipt is compared with the moment the UPDATE was sent.
import { mapLimit, prepare, Watcher } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { nowMs } from '../lib/proc.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, max, median, ms, quantile } from '../lib/stats.js';

interface Burst {
  status: string;
  updateMs: number;
  latencies: number[];
  missing: number;
}

export async function fanoutSection(ctx: BenchContext): Promise<SectionResult[]> {
  const count = ctx.quick ? 200 : 1000;
  const api2 = await ctx.cluster.startService({ role: 'api', name: 'fanout-api-2' });
  const apis = [ctx.api, api2];
  const watchers: Watcher[] = [];
  try {
    ctx.log(`fan-out: ${count} users prepare an asset each`);
    const users = await mapLimit(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
      const token = await ctx.token(`fan-${i}`);
      const p = await prepare(apis[i % 2]!.url, token, { filename: 'note.ogg', size: 12_345, contentType: 'audio/ogg' });
      return { token, id: p.id, api: apis[i % 2]! };
    });
    ctx.log(`fan-out: ${count} graphql-ws subscribers, half on each API process`);
    await mapLimit(users, 50, async (u) => {
      const w = new Watcher(u.api.url, u.token, u.id);
      watchers.push(w);
      await w.start();
    });
    const ids = users.map((u) => u.id);
    // Prove every subscription is live: move every asset on and wait for each
    // event (QUEUED: a one-asset subscriber is never sent AWAITING_UPLOAD, contract).
    await ctx.cluster.query(`update audio_asset set status = 'QUEUED', progress = null where id = any($1::uuid[])`, [ids]);
    await Promise.all(watchers.map((w, i) => w.waitFor(ids[i]!, ['QUEUED'], 30_000)));

    const bursts: Burst[] = [];
    const burst = async (status: string, round: number, set: string) => {
      const marker = round + 1;
      const started = nowMs();
      await ctx.cluster.query(`update audio_asset set status = '${status}', ${set} where id = any($1::uuid[])`, [ids]);
      const match = status === 'DONE'
        ? (e: { status: string; duration: number | null }) => e.status === 'DONE' && e.duration === 100 + marker
        : (e: { status: string; progress: number | null }) => e.status === status && e.progress === marker / 100;
      const got = await Promise.allSettled(watchers.map((w, i) => w.waitUntil(ids[i]!, match as never, 10_000)));
      const latencies = got.filter((g) => g.status === 'fulfilled').map((g) => (g as PromiseFulfilledResult<{ receivedMs: number }>).value.receivedMs - started);
      bursts.push({ status, updateMs: started, latencies, missing: got.length - latencies.length });
    };
    for (let r = 0; r < ctx.runs; r++) {
      ctx.log(`fan-out round ${r + 1}/${ctx.runs}: ${count} assets -> PROCESSING, then -> DONE, in one UPDATE each`);
      await burst('PROCESSING', r, `progress = ${(r + 1) / 100}, duration_seconds = null`);
      await burst('DONE', r, `progress = 1, duration_seconds = ${100 + r + 1}`);
    }
    return [report(ctx, count, bursts)];
  } finally {
    await mapLimit(watchers, 100, (w) => w.close());
    await api2.stop(3000);
  }
}

function report(ctx: BenchContext, count: number, bursts: Burst[]): SectionResult {
  const done = bursts.filter((b) => b.status === 'DONE');
  const worst = max(done.map((b) => max(b.latencies)));
  const missing = done.reduce((a, b) => a + b.missing, 0);
  const within = done.every((b) => b.missing === 0 && max(b.latencies) <= 1000);
  const rows = bursts.map((b, i) => [
    Math.floor(i / 2) + 1,
    b.status,
    `${b.latencies.length}/${count}`,
    ms(quantile(b.latencies, 0.5)),
    ms(quantile(b.latencies, 0.95)),
    `**${ms(max(b.latencies))}**`,
  ]);
  const md =
    `${count} users each prepare one asset; ${count} graphql-ws connections (one per user, half on each of 2 API processes) ` +
    `subscribe to \`assetUpdated(id: <own asset>) { id status progress duration url error { code } }\`. One SQL UPDATE then ` +
    `moves all ${count} assets at once (first to PROCESSING, then to DONE), so all ${count} NOTIFYs arrive in one burst at ` +
    `commit. Latency = receipt by the subscriber minus the moment the UPDATE was sent (so it includes the UPDATE itself). ` +
    `${ctx.runs} round(s). All subscribers are in the bench process, so its own event loop is part of what is measured.\n\n` +
    table(['round', 'update', 'received', 'p50', 'p95', 'max'], rows) +
    `\n\nDONE bursts: median of the per-burst maxima ${ms(median(done.map((b) => max(b.latencies))))}, worst ${ms(worst)}.`;
  return result(ctx, {
    key: 'fanout',
    title: `6. Fan-out: ${count} subscribers over 2 API processes`,
    targets: [{ name: '6. Fan-out', target: `all ${count} DONE events within 1 s of the update`, measured: `worst ${ms(worst)}, ${missing} missing (${fmt(done.length)} burst(s))`, met: ctx.quick ? null : within }],
    markdown: md,
    data: bursts,
  });
}
