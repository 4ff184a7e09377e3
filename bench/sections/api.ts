// Target 5: request rates of prepareAudioUpload and asset(id) with autocannon,
// spread over many users, successful answers only, each beside the same
// server's `{ __typename }` in the same round (rounds interleave the three).
import autocannon from 'autocannon';
import { gql, mapLimit, prepare } from '../lib/client.js';
import { type BenchContext, result } from '../lib/context.js';
import { type SectionResult, table } from '../lib/report.js';
import { fmt, median, quantile, ratio } from '../lib/stats.js';
import { makeKey, signToken, startJwksServer } from '../../test/helpers/jwks.js';

const CONNECTIONS = 16;

/** A GraphQL error comes back as HTTP 200: only an answer with data and no errors counts. */
const answered = (body: string): boolean => body.startsWith('{"data":{') && !body.includes('"errors":');

export const TYPENAME_BODY = JSON.stringify({ query: '{ __typename }' });
export const prepareBody = (i: number) =>
  JSON.stringify({
    query: 'mutation($input: PrepareAudioUploadInput!) { prepareAudioUpload(input: $input) { asset { id status } uploadUrl uploadHeaders { name value } expiresAt } }',
    variables: { input: { filename: `note-${i}.m4a`, size: 250_000 + i, contentType: 'audio/mp4' } },
  });
export const assetBody = (id: string) => JSON.stringify({ query: 'query($id: ID!) { asset(id: $id) { id status progress duration url } }', variables: { id } });

/** Users with one DONE asset each (seeded through the API, then marked DONE in SQL). */
export async function seedDoneAssets(ctx: BenchContext, apiUrl: string, tokens: string[]): Promise<string[]> {
  const ids = await mapLimit(tokens, 16, async (t) => (await prepare(apiUrl, t, { filename: 'seed.mp3', size: 1_000_000, contentType: 'audio/mpeg' })).id);
  // Seeded as finished assets, so asset(id) resolves a playback URL as it does for real ones.
  await ctx.cluster.query(`update audio_asset set status = 'DONE', progress = 1, duration_seconds = 123.4, detected_type = 'audio/mpeg' where id = any($1::uuid[])`, [ids]);
  return ids;
}

interface Round {
  okPerSecond: number;
  ok: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
}

/** One autocannon run; users rotate request by request. */
export async function cannon(url: string, durationSeconds: number, bodies: string[], tokens: string[]): Promise<Round> {
  let next = 0;
  let ok = 0;
  const r = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: durationSeconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const k = next++ % bodies.length;
          req.headers = { 'content-type': 'application/json', authorization: `Bearer ${tokens[k % tokens.length]}` };
          req.body = bodies[k];
          return req;
        },
      },
    ],
    verifyBody: (body) => {
      const good = answered(body);
      if (good) ok++;
      return good;
    },
  });
  const seconds = (r.finish.getTime() - r.start.getTime()) / 1000;
  return { okPerSecond: ok / seconds, ok, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx + r.mismatches };
}

export async function apiSection(ctx: BenchContext): Promise<SectionResult[]> {
  const users = ctx.quick ? 200 : 1000;
  const assetUsers = ctx.quick ? 50 : 200;
  const duration = ctx.quick ? 3 : 8;
  ctx.log(`api: minting ${users} user tokens and seeding ${assetUsers} DONE assets`);
  const tokens = await Promise.all(Array.from({ length: users }, (_, i) => ctx.token(`api-user-${i}`)));
  const assetIds = await seedDoneAssets(ctx, ctx.api.url, tokens.slice(0, assetUsers));
  const check = await gql(ctx.api.url, tokens[0]!, 'query($id: ID!) { asset(id: $id) { status url } }', { id: assetIds[0] });
  if (!check.asset?.url) throw new Error(`seeded asset has no url: ${JSON.stringify(check)}`);

  const typename = tokens.map(() => TYPENAME_BODY);
  const prepareBodies = tokens.map((_, i) => prepareBody(i));
  const assetBodies = assetIds.map(assetBody);
  const assetTokens = tokens.slice(0, assetUsers);

  const idp = await identityProviderApi(ctx, users);
  try {
    const kinds = {
      typename: (d: number) => cannon(ctx.api.url, d, typename, tokens),
      prepare: (d: number) => cannon(ctx.api.url, d, prepareBodies, tokens),
      prepareRs256: (d: number) => cannon(idp.url, d, prepareBodies, idp.tokens),
      asset: (d: number) => cannon(ctx.api.url, d, assetBodies, assetTokens),
    };
    ctx.log('api: warm-up (2 s each, discarded)');
    for (const run of Object.values(kinds)) await run(2);
    const rounds: Record<keyof typeof kinds, Round[]> = { typename: [], prepare: [], prepareRs256: [], asset: [] };
    for (let r = 0; r < ctx.runs; r++) {
      for (const k of Object.keys(kinds) as (keyof typeof kinds)[]) {
        ctx.log(`api round ${r + 1}/${ctx.runs}: ${k}, ${duration} s`);
        rounds[k].push(await kinds[k](duration));
      }
    }
    const quota = await quotaCost(ctx, tokens, prepareBodies, ctx.quick ? 200 : 1500);
    return [report(ctx, rounds, users, assetUsers, duration), quotaReport(ctx, quota)];
  } finally {
    await idp.stop();
  }
}

interface QuotaCost { onMs: number[]; offMs: number[] }

/**
 * What the quota check adds to prepareAudioUpload (issue 21: < 1 ms of its
 * p50): one request at a time, so no queueing is in the figure, alternating
 * between the bench's API process (quotas on) and a second one with none,
 * same users and bodies, the order flipped every pair.
 */
async function quotaCost(ctx: BenchContext, tokens: string[], bodies: string[], pairs: number): Promise<QuotaCost> {
  ctx.log(`api: quota check cost, ${pairs} sequential prepare pairs (quotas on / off)`);
  const off = await ctx.cluster.startService({ role: 'api', name: 'api-no-quota' });
  try {
    // The same load the quotas-on process took above (warm-up and three rounds), so both are as warm (JIT, pools).
    await cannon(off.url, ctx.quick ? 3 : 26, bodies, tokens);
    const prepareOnce = async (url: string, i: number): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]}` },
        body: bodies[i % bodies.length],
      });
      const body = await res.text();
      const tookMs = performance.now() - started;
      if (!answered(body)) throw new Error(`prepareAudioUpload failed: ${body.slice(0, 300)}`);
      return tookMs;
    };
    const cost: QuotaCost = { onMs: [], offMs: [] };
    for (let i = 0; i < pairs + 100; i++) {
      let onMs: number, offMs: number;
      if (i % 2) {
        onMs = await prepareOnce(ctx.api.url, i);
        offMs = await prepareOnce(off.url, i);
      } else {
        offMs = await prepareOnce(off.url, i);
        onMs = await prepareOnce(ctx.api.url, i);
      }
      if (i < 100) continue; // warm-up
      cost.onMs.push(onMs);
      cost.offMs.push(offMs);
    }
    return cost;
  } finally {
    await off.stop(3000);
  }
}

function quotaReport(ctx: BenchContext, cost: QuotaCost): SectionResult {
  const [onP50, offP50] = [quantile(cost.onMs, 0.5), quantile(cost.offMs, 0.5)];
  const added = onP50 - offP50;
  const row = (name: string, values: number[]) => [name, `${fmt(quantile(values, 0.5), 2)} ms`, `${fmt(quantile(values, 0.95), 2)} ms`];
  const md =
    `${cost.onMs.length} pairs of prepareAudioUpload, one request at a time (no queueing), after 100 warm-up pairs ` +
    '(the second process first took the load the first one took in section 5, so both are as warm): ' +
    'the API process of section 5 (QUOTA_STORED_BYTES_PER_USER and QUOTA_AUDIO_SECONDS_PER_DAY set, far above what ' +
    'the bench uploads, so every prepare takes the quota check and passes it) and a second API process with no ' +
    'quotas, alternating, the order flipped every pair, same users and bodies.\n\n' +
    table(['API process', 'p50', 'p95'], [row('quotas on', cost.onMs), row('no quotas', cost.offMs)]) +
    `\n\nAdded by the quota check at p50: **${fmt(added, 2)} ms**. The check is part of the asset's INSERT ` +
    '(one statement with the usage counters, src/db/asset.repository.ts `createWithinQuota`), so it adds no round trip; ' +
    'a difference below the noise of two processes can come out negative.';
  return result(ctx, {
    key: 'quota',
    title: '5b. Quota check cost (issue 21)',
    targets: [
      { name: '21. Quotas', target: 'quota check adds < 1 ms to prepareAudioUpload p50', measured: `${fmt(added, 2)} ms (p50 ${fmt(onP50, 2)} vs ${fmt(offP50, 2)} ms)`, met: ctx.quick ? null : added < 1 },
    ],
    markdown: md,
    data: cost,
  });
}

/**
 * A second API process that verifies RS256 tokens of an identity provider
 * (AUTH_JWKS_URL: a JWKS served from this process, a key made with jose),
 * and one such token per user: what apps signed in with Auth0 or Keycloak send.
 */
async function identityProviderApi(ctx: BenchContext, users: number): Promise<{ url: string; tokens: string[]; stop(): Promise<void> }> {
  const key = await makeKey('RS256', 'bench-key');
  const jwks = await startJwksServer([key]);
  const claims = { iss: 'https://idp.bench.test/', aud: 'audio-bench' };
  try {
    const api = await ctx.cluster.startService({
      role: 'api',
      name: 'api-rs256',
      env: { AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: claims.iss, AUTH_AUDIENCE: claims.aud },
    });
    const exp = Math.floor(Date.now() / 1000) + 86400;
    const tokens = await Promise.all(Array.from({ length: users }, (_, i) => signToken(key, { ...claims, sub: `api-user-${i}`, exp })));
    return {
      url: api.url,
      tokens,
      async stop() {
        await api.stop(3000);
        await jwks.stop();
      },
    };
  } catch (e) {
    await jwks.stop();
    throw e;
  }
}

function report(ctx: BenchContext, rounds: Record<'typename' | 'prepare' | 'prepareRs256' | 'asset', Round[]>, users: number, assetUsers: number, duration: number): SectionResult {
  const med = (k: keyof typeof rounds, f: (r: Round) => number) => median(rounds[k].map(f));
  const rate = (k: keyof typeof rounds) => med(k, (r) => r.okPerSecond);
  const row = (name: string, k: keyof typeof rounds, target: string) => [
    name,
    `**${fmt(rate(k))}/s**`,
    k === 'typename' ? '—' : ratio(rate(k) / rate('typename'), 2),
    `${fmt(med(k, (r) => r.p50))} ms`,
    `${fmt(med(k, (r) => r.p99))} ms`,
    rounds[k].reduce((a, r) => a + r.errors, 0),
    rounds[k].map((r) => fmt(r.okPerSecond)).join(', '),
    target,
  ];
  const md =
    `autocannon 9 against one API process (\`--role api\`, NODE_ENV=production), ${CONNECTIONS} connections, ` +
    `${duration} s per measurement, ${ctx.runs} round(s) each interleaving the three requests, after a 2-s warm-up of each. ` +
    `Every request carries a bearer JWT, rotating over ${users} users (asset(id): ${assetUsers} users, each reading its own ` +
    `DONE asset, so \`url\` presigns a GET), and the upload rate limit is raised through UPLOAD_RATE_LIMIT_PER_MINUTE. ` +
    `Rates count only answers with \`data\` and no \`errors\`; latency percentiles are autocannon's over all answers.\n\n` +
    table(['request', 'successful req/s (median)', 'vs __typename', 'p50', 'p99', 'failed answers', 'per round', 'target'], [
      row('`{ __typename }` (same server, same rounds)', 'typename', '—'),
      row('`prepareAudioUpload` (asset row + presigned PUT)', 'prepare', '≥ 1,000/s'),
      row('`prepareAudioUpload`, RS256 tokens of an identity provider (AUTH_JWKS_URL; second API process)', 'prepareRs256', '≥ 1,000/s'),
      row('`asset(id) { id status progress duration url }`', 'asset', '≥ 3,000/s'),
    ]);
  const prepareOk = rate('prepare');
  const rs256Ok = rate('prepareRs256');
  const assetOk = rate('asset');
  return result(ctx, {
    key: 'api',
    title: '5. API request rates (autocannon)',
    targets: [
      { name: '5. API', target: 'prepareAudioUpload ≥ 1,000 req/s', measured: `${fmt(prepareOk)}/s, p99 ${fmt(med('prepare', (r) => r.p99))} ms (${ratio(prepareOk / rate('typename'), 2)} of __typename)`, met: ctx.quick ? null : prepareOk >= 1000 },
      { name: '5. API', target: 'prepareAudioUpload with RS256 tokens (JWKS) ≥ 1,000 req/s', measured: `${fmt(rs256Ok)}/s, p99 ${fmt(med('prepareRs256', (r) => r.p99))} ms`, met: ctx.quick ? null : rs256Ok >= 1000 },
      { name: '5. API', target: 'asset(id) ≥ 3,000 req/s', measured: `${fmt(assetOk)}/s, p99 ${fmt(med('asset', (r) => r.p99))} ms (${ratio(assetOk / rate('typename'), 2)} of __typename)`, met: ctx.quick ? null : assetOk >= 3000 },
    ],
    markdown: md,
    data: rounds,
  });
}
