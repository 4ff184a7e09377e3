// Scale-out: the roles run as separate processes, the way operators run them
// (`node dist/src/main.js --role api|worker`), 2 API nodes and 2 workers over
// one database and one S3 server. An upload prepared on one API node is
// processed exactly once by one of the workers, and its events reach a
// subscriber connected to the other API node.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { Auth } from '../../src/auth/jwt.js';
import { freePort } from '../../src/embedded/free-port.js';
import { makeAudio } from '../helpers/fixtures.js';
import { type TestDatabase, type TestS3, testDatabase, testS3 } from '../helpers/services.js';
import { objectsOf } from '../helpers/waveform-reference.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const SECRET = 'scale-out-test-secret-0123456789abcdef0123456789';

interface Node {
  role: 'api' | 'worker';
  child: ChildProcess;
  url: string;
  tmpDir: string;
  output(): string;
}

type AssetEvent = { id: string; status: string; progress: number | null; duration: number | null; url: string | null };

const WATCH = /* GraphQL */ `
  subscription { assetUpdated { id status progress duration url } }`;
const PREPARE = /* GraphQL */ `
  mutation($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) { asset { id } uploadUrl uploadHeaders { name value } }
  }`;
const COMPLETE = /* GraphQL */ `
  mutation($id: ID!) { completeAudioUpload(input: { id: $id }) { id status } }`;

async function gql<T = any>(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`${url}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** One user's graphql-ws subscription to all of its assets, events kept by asset id. */
function watch(url: string, token: string): { client: Client; events: Map<string, AssetEvent[]>; until(id: string, status: string, timeoutMs: number): Promise<void> } {
  const events = new Map<string, AssetEvent[]>();
  const waiters: { id: string; status: string; resolve: () => void }[] = [];
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  client.subscribe<{ assetUpdated: AssetEvent }>(
    { query: WATCH },
    {
      next: ({ data }) => {
        if (!data) return;
        const e = data.assetUpdated;
        events.set(e.id, [...(events.get(e.id) ?? []), e]);
        for (const w of waiters.filter((w) => w.id === e.id && w.status === e.status)) w.resolve();
      },
      error: () => {},
      complete: () => {},
    },
  );
  return {
    client,
    events,
    until: (id, status, timeoutMs) =>
      events.get(id)?.some((e) => e.status === status)
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`no ${status} event for ${id} within ${timeoutMs} ms; got ${JSON.stringify(events.get(id)?.map((e) => e.status))}`)),
              timeoutMs,
            );
            waiters.push({ id, status, resolve: () => (clearTimeout(timer), resolve()) });
          }),
  };
}

describe('scale-out: 2 API processes and 2 worker processes over one database and one S3', () => {
  const nodes: Node[] = [];
  const clients: Client[] = [];
  let db: TestDatabase;
  let s3: TestS3;
  let fixtures: string;
  let auth: Auth;

  async function start(role: 'api' | 'worker', name: string): Promise<Node> {
    const port = await freePort();
    const tmpDir = await mkdtemp(path.join(tmpdir(), `scale-out-${name}-`));
    let output = '';
    const child = spawn(process.execPath, [MAIN, '--role', role], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        DATABASE_URL: db.url,
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AUTH_JWT_SECRET: SECRET,
        TMPDIR: tmpDir,
        WORKER_CONCURRENCY: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Tracked before it is healthy, so `after` kills it whatever happens next.
    const node: Node = { role, child, url: `http://127.0.0.1:${port}`, tmpDir, output: () => output };
    nodes.push(node);
    child.stdout!.on('data', (d) => (output = (output + d).slice(-20_000)));
    child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
    const deadline = Date.now() + 40_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited early:\n${output}`);
      if (await fetch(`${node.url}/healthz`).then((r) => r.ok, () => false)) return node;
      if (Date.now() > deadline) throw new Error(`${name} did not become healthy:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<T[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** prepare on `api`, PUT to the presigned URL; returns the asset id. */
  async function upload(api: Node, token: string, file: string): Promise<string> {
    const body = await readFile(file);
    const p = (await gql(api.url, token, PREPARE, { input: { filename: 'note.ogg', size: body.length, contentType: 'audio/ogg' } })).prepareAudioUpload;
    const headers = Object.fromEntries(p.uploadHeaders.map((h: { name: string; value: string }) => [h.name, h.value]));
    const put = await fetch(p.uploadUrl, { method: 'PUT', headers, body });
    assert.equal(put.status, 200, await put.text());
    return p.asset.id;
  }

  before(async () => {
    db = await testDatabase();
    s3 = await testS3();
    fixtures = await mkdtemp(path.join(tmpdir(), 'scale-out-fixtures-'));
    auth = new Auth(SECRET);
    // The first process migrates; the others find the schema (and the advisory lock) in place.
    await start('api', 'api-1');
    await Promise.all([start('api', 'api-2'), start('worker', 'worker-1'), start('worker', 'worker-2')]);
  });

  after(async () => {
    for (const c of clients) await Promise.resolve(c.dispose()).catch(() => {});
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.all(
      nodes.map((n) => (n.child.exitCode !== null || n.child.signalCode !== null ? null : new Promise((r) => n.child.once('exit', r)))),
    );
    for (const n of nodes) await rm(n.tmpDir, { recursive: true, force: true });
    if (fixtures) await rm(fixtures, { recursive: true, force: true });
    await s3?.stop();
    await db?.drop();
  });

  it('processes an upload prepared on API node 1 exactly once, with its events reaching a subscriber on API node 2', async () => {
    const [api1, api2] = nodes.filter((n) => n.role === 'api') as [Node, Node];
    const token = await auth.sign('scale-out-user');
    const sub = watch(api2.url, token);
    clients.push(sub.client);
    const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 3 });

    // The insert on node 1 reaching the subscriber on node 2 also proves the subscription is live.
    let id = '';
    for (let attempt = 0; attempt < 20 && !id; attempt++) {
      const candidate = await upload(api1, token, file);
      await sub.until(candidate, 'AWAITING_UPLOAD', 1000).then(() => (id = candidate), () => {});
    }
    assert.ok(id, 'the subscriber on API node 2 saw an asset created on API node 1');

    assert.equal((await gql(api1.url, token, COMPLETE, { id })).completeAudioUpload.status, 'QUEUED');
    await sub.until(id, 'DONE', 30_000);

    const statuses = sub.events.get(id)!.map((e) => e.status);
    assert.deepEqual(statuses.slice(0, 2), ['AWAITING_UPLOAD', 'QUEUED'], statuses.join());
    assert.equal(statuses.at(-1), 'DONE', statuses.join());
    assert.ok(statuses.slice(2, -1).length > 0 && statuses.slice(2, -1).every((s) => s === 'PROCESSING'), statuses.join());
    assert.equal(statuses.filter((s) => s === 'DONE').length, 1, 'one DONE event');
    const done = sub.events.get(id)!.at(-1)!;
    assert.ok(Math.abs(done.duration! - 3) < 0.05, `duration ${done.duration}`);
    assert.ok(done.url, 'DONE carries a playback URL');

    const jobs = await query<{ state: string; retry_count: number }>(
      `select state, retry_count from pgboss.job where name = 'process-audio' and data->>'assetId' = $1`,
      [id],
    );
    assert.deepEqual(jobs, [{ state: 'completed', retry_count: 0 }], 'one job, completed at its first attempt');
    assert.deepEqual(objectsOf(await s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
    for (const n of nodes) assert.equal(n.child.exitCode, null, `${n.role} still running:\n${n.output()}`);
  });

  it('processes a burst completed through both API nodes (each asset completed twice) exactly once per asset', async () => {
    const [api1, api2] = nodes.filter((n) => n.role === 'api') as [Node, Node];
    const token = await auth.sign('scale-out-burst');
    const sub = watch(api2.url, token);
    clients.push(sub.client);
    const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 2, fileName: 'burst.ogg' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await upload(i % 2 ? api2 : api1, token, file));
    // Completed concurrently, half through each API node; each also completed twice (idempotent).
    await Promise.all(ids.flatMap((id) => [api1, api2].map((api) => gql(api.url, token, COMPLETE, { id }))));
    await Promise.all(ids.map((id) => sub.until(id, 'DONE', 45_000)));

    const jobs = await query<{ id: string; jobs: number; attempts: number }>(
      `select data->>'assetId' as id, count(*)::int as jobs, max(retry_count)::int as attempts
         from pgboss.job where name = 'process-audio' and data->>'assetId' = any($1::text[]) group by 1`,
      [ids],
    );
    assert.equal(jobs.length, ids.length);
    for (const j of jobs) assert.deepEqual([j.jobs, j.attempts], [1, 0], `asset ${j.id}: one job, no retry`);
    for (const id of ids) assert.equal(sub.events.get(id)!.filter((e) => e.status === 'DONE').length, 1, `one DONE for ${id}`);
    const keys = await s3.listKeys();
    for (const id of ids) assert.deepEqual(objectsOf(keys, id), [`audio/${id}.m4a`, `waveform/${id}/`]);
  });
});
