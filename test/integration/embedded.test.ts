import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/embedded/postgres.js';
import { waitFor } from '../helpers/processes.js';
import { query, testDatabase, testS3, type TestS3 } from '../helpers/services.js';

const hasProc = existsSync('/proc/self/stat');

async function timed<T>(t: { diagnostic(msg: string): void }, label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  t.diagnostic(`${label}: ${Math.round(performance.now() - start)} ms`);
  return result;
}

const postmasterPid = async (dataDir: string) => Number.parseInt(await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);

function postgresRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.includes('(postgres)') && !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Starts the embedded server in a child process, as `npm start` would, and waits until it is up. */
async function startInChild(dataDir: string) {
  const moduleUrl = new URL('../../src/embedded/postgres.js', import.meta.url).href;
  const script = `const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
    await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
    console.log('up'); setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before PostgreSQL was up`)));
  });
  return { child, pid: await postmasterPid(dataDir) };
}

describe('embedded PostgreSQL', () => {
  let dataDir: string;
  before(async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'pg-embedded-test-'));
    // mkdtemp makes it 0700; as root the server runs as `postgres`, which must enter it.
    await chmod(parent, 0o755);
    dataDir = path.join(parent, 'data');
  });
  after(async () => {
    await rm(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('starts on a free port other than 5432 and keeps its data across restarts', async (t) => {
    const first = await timed(t, 'initdb + start', () => startEmbeddedPostgres({ dataDir }));
    assert.notEqual(first.port, 5432);
    assert.match(first.url, /^postgres:\/\/.+@127\.0\.0\.1:\d+\/audio$/);
    await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$yes$$)');
    await timed(t, 'stop', () => first.stop());

    const second = await timed(t, 'restart on the existing data dir', () => startEmbeddedPostgres({ dataDir }));
    try {
      assert.deepEqual((await query(second.url, 'SELECT v FROM kept')).rows, [{ v: 'yes' }]);
    } finally {
      await second.stop();
    }
  });

  it('refuses to start twice on a data dir whose server is still owned by a live process', async () => {
    const running = await startEmbeddedPostgres({ dataDir });
    try {
      await assert.rejects(startEmbeddedPostgres({ dataDir }), /already running/);
    } finally {
      await running.stop();
    }
  });

  it('ignores a stale postmaster.pid whose PID now belongs to another program', async () => {
    const other = spawn('sleep', ['30']);
    try {
      await writeFile(path.join(dataDir, 'postmaster.pid'), `${other.pid}\n${dataDir}\n0\n5432\n\n127.0.0.1\n0 0\nready\n`);
      const server = await startEmbeddedPostgres({ dataDir });
      await server.stop();
    } finally {
      other.kill();
    }
  });

  it('stops its server when the owning process is SIGKILLed', { skip: !hasProc && 'needs /proc' }, async () => {
    const { child, pid } = await startInChild(dataDir);
    child.kill('SIGKILL');
    await waitFor(`postgres ${pid} to stop with its owner`, async () => !postgresRunning(pid), 10_000);
  });

  it('shuts down an orphaned server left by a killed run, then starts', { skip: !hasProc && 'needs /proc' }, async () => {
    const { child, pid } = await startInChild(dataDir);
    // Kill the watchdog first, so the server really is orphaned (a `kill -9` of the whole session).
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(`\0pg-watchdog\0${pid}\0`)) process.kill(Number(entry), 'SIGKILL');
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(postgresRunning(pid), 'the orphan should still be running before the restart');

    const server = await startEmbeddedPostgres({ dataDir });
    try {
      assert.equal(postgresRunning(pid), false);
      assert.deepEqual((await query(server.url, 'SELECT v FROM kept')).rows, [{ v: 'yes' }]);
    } finally {
      await server.stop();
    }
  });
});

describe('testDatabase', () => {
  async function assertIsolated(urlA: string, urlB: string) {
    assert.notEqual(urlA, urlB);
    await query(urlA, 'CREATE TABLE only_in_a (id int)');
    const inB = await query(urlB, `SELECT to_regclass('only_in_a') AS t`);
    assert.deepEqual(inB.rows, [{ t: null }]);
  }

  it('gives isolated databases on the DATABASE_URL server, and drops them', async (t) => {
    // Without a DATABASE_URL in the environment, stand one up so this branch is always tested.
    let server: EmbeddedPostgres | undefined;
    const saved = process.env.DATABASE_URL;
    if (!saved) {
      server = await startEmbeddedPostgres({ dataDir: path.join(tmpdir(), `pg-url-test-${process.pid}`), ephemeral: true });
      process.env.DATABASE_URL = server.url;
    }
    const adminUrl = process.env.DATABASE_URL!;
    try {
      const [a, b] = await Promise.all([testDatabase(), testDatabase()]);
      t.diagnostic(`databases ${new URL(a.url).pathname}, ${new URL(b.url).pathname}`);
      const held = new pg.Client({ connectionString: a.url }); // a session drop() must end
      await held.connect();
      held.on('error', () => {});
      await assertIsolated(a.url, b.url);
      await Promise.all([a.drop(), b.drop()]);
      const names = [a, b].map((d) => new URL(d.url).pathname.slice(1));
      const left = await query(adminUrl, `SELECT datname FROM pg_database WHERE datname IN ('${names.join("','")}')`);
      assert.equal(left.rowCount, 0);
      await held.end().catch(() => {});
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      await server?.stop();
    }
  });

  it('gives isolated databases on its own embedded server without DATABASE_URL, and stops it', async (t) => {
    const [a, b] = await timed(t, 'embedded server + 2 databases', () =>
      Promise.all([testDatabase({ embedded: true }), testDatabase({ embedded: true })]),
    );
    assert.equal(new URL(a.url).port, new URL(b.url).port, 'one server per process');
    assert.notEqual(new URL(a.url).port, '5432');
    await assertIsolated(a.url, b.url);
    await a.drop();
    await query(b.url, 'SELECT 1'); // still up while b is in use
    await b.drop();
    await assert.rejects(query(b.url, 'SELECT 1'), /ECONNREFUSED/);
    assert.deepEqual(readdirSync(tmpdir()).filter((n) => n.startsWith(`pg-test-${process.pid}-`)), []);
  });
});

describe('embedded S3', () => {
  let s3: TestS3;
  before(async () => {
    s3 = await testS3();
  });
  after(() => s3.stop());

  it('answers put, get, ranged get (206), head and delete', async () => {
    const { client, bucket } = s3;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.bin', Body: 'hello world', ContentType: 'audio/mpeg' }));
    const whole = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.bin' }));
    assert.equal(await whole.Body!.transformToString(), 'hello world');
    const part = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.bin', Range: 'bytes=6-10' }));
    assert.equal(part.$metadata.httpStatusCode, 206);
    assert.equal(part.ContentRange, 'bytes 6-10/11');
    assert.equal(await part.Body!.transformToString(), 'world');
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a/b.bin' }));
    assert.equal(head.ContentLength, 11);
    assert.equal(head.ContentType, 'audio/mpeg');
    assert.deepEqual(await s3.listKeys(), ['a/b.bin']);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a/b.bin' }));
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a/b.bin' })), { name: 'NotFound' });
  });

  it('accepts a presigned PUT from fetch', async () => {
    const body = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0]);
    const command = new PutObjectCommand({ Bucket: s3.bucket, Key: 'uploads/x', ContentType: 'audio/mpeg', ContentLength: body.length });
    const url = await getSignedUrl(s3.client, command, { expiresIn: 60, signableHeaders: new Set(['content-type']) });
    assert.match(new URL(url).searchParams.get('X-Amz-SignedHeaders')!, /content-length.*content-type|content-type.*content-length/);
    const res = await fetch(url, { method: 'PUT', body, headers: { 'Content-Type': 'audio/mpeg' } });
    assert.equal(res.status, 200);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'uploads/x' }));
    assert.deepEqual(await got.Body!.transformToByteArray(), body);
  });

  it('allows a browser on another localhost origin to PUT, GET with Range and read the ETag', async () => {
    const objectUrl = `${s3.endpoint}/${s3.bucket}/cors-check`;
    const preflight = await fetch(objectUrl, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.status, 200);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);

    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'cors-check', Body: 'abc' }));
    const get = await fetch(objectUrl, { headers: { Origin: 'http://127.0.0.1:4000', Range: 'bytes=0-0' } });
    assert.equal(get.status, 206);
    assert.equal(get.headers.get('access-control-allow-origin'), 'http://127.0.0.1:4000');
    assert.match(get.headers.get('access-control-expose-headers') ?? '', /ETag/);
  });

  it('refuses a CORS preflight from a non-local origin', async () => {
    const res = await fetch(`${s3.endpoint}/${s3.bucket}/x`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' },
    });
    assert.equal(res.status, 403);
  });

  it('gives each testS3 its own bucket and directory, removed at stop', async (t) => {
    const other = await timed(t, 's3rver start', () => testS3());
    try {
      assert.notEqual(other.bucket, s3.bucket);
      await other.client.send(new PutObjectCommand({ Bucket: other.bucket, Key: 'only-here', Body: 'x' }));
      assert.deepEqual(await other.listKeys(), ['only-here']);
      assert.equal((await s3.listKeys()).includes('only-here'), false);
    } finally {
      await other.stop();
    }
    await assert.rejects(fetch(other.endpoint), /fetch failed/);
    assert.equal(existsSync(other.directory), false);
  });
});
