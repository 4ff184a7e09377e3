import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { makeAudio } from '../helpers/fixtures.js';
import { ASSET, COMPLETE, METRICS_HEADERS, collect, metricValue, prepareAndPut, serviceEnv, startTestApp, type TestApp } from '../helpers/app.js';
import { ffmpegProcesses, spawnService, waitFor } from '../helpers/processes.js';
import { type TestDatabase, type TestS3, query, testDatabase, testS3 } from '../helpers/services.js';
import { type StorageProxy, startStorageProxy } from '../helpers/storage-proxy.js';
import { objectsOf } from '../helpers/waveform-reference.js';

const STATUS = `query($id: ID!) { asset(id: $id) { status progress duration error { code } } }`;
type Asset = { status: string; progress: number | null; duration: number | null; error: { code: string } | null };
const statusOf = async (t: TestApp, id: string): Promise<Asset> => (await t.gql(STATUS, { id })).data.asset;
const ended = (a: Asset) => a.status === 'DONE' || a.status === 'FAILED';

async function jobDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('audio-job-'));
}

describe('faults: worker processes killed, stopped and restarted', () => {
  let db: TestDatabase;
  let s3: TestS3;
  let tmp: string;
  let api: TestApp;
  let fixtures: string;
  const children: { child: { kill: (s: NodeJS.Signals) => boolean } }[] = [];
  before(async () => {
    db = await testDatabase();
    s3 = await testS3();
    tmp = await mkdtemp(path.join(tmpdir(), 'faults-tmp-'));
    fixtures = await mkdtemp(path.join(tmpdir(), 'faults-fx-'));
    api = await startTestApp({ role: 'api', db, s3, tmpDir: tmp });
  });
  after(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await api?.stop();
    await s3?.stop();
    await db?.drop();
    await rm(tmp, { recursive: true, force: true });
    await rm(fixtures, { recursive: true, force: true });
  });

  it('finishes an asset on another worker after one is SIGKILLed mid-transcode, well within 60 s, with nothing left over', async () => {
    const env = { ...serviceEnv(db, s3, tmp), WORKER_CONCURRENCY: '1' };
    const w1 = await spawnService('worker', env);
    children.push(w1);
    const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 400 });
    const id = await prepareAndPut(api, file, { contentType: 'audio/ogg' });
    await api.gql(COMPLETE, { id });
    await waitFor('ffmpeg to start', async () => (await ffmpegProcesses(id)).length > 0, 20_000);
    await waitFor('a job dir', async () => (await jobDirs(tmp)).length > 0, 5_000);
    w1.child.kill('SIGKILL');
    const killedAt = Date.now();
    await w1.exited;
    // Its ffmpeg loses its reader and ends too: no orphan decoder.
    await waitFor('the orphaned ffmpeg to end', async () => (await ffmpegProcesses(id)).length === 0, 10_000);

    const w2 = await spawnService('worker', env);
    children.push(w2);
    const final = await waitFor('DONE', async () => {
      const a = await statusOf(api, id);
      return ended(a) ? a : null;
    }, 60_000);
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    assert.equal(final.status, 'DONE', JSON.stringify(final));
    assert.ok(recoverySeconds < 60, `recovered in ${recoverySeconds} s`);
    assert.deepEqual(objectsOf(await s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
    assert.deepEqual(await jobDirs(tmp), [], 'the dead worker\'s temp dir was swept at the next start');
    assert.deepEqual(await ffmpegProcesses(id), []);
    w2.child.kill('SIGTERM');
    assert.deepEqual(await w2.exited, { code: 0, signal: null });
  });

  // A worker that died between recording the result and storing every file: the next attempt must redo the work.
  it('redoes a job whose previous attempt recorded its result but stored only part of the files', async () => {
    const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 3, fileName: 'half-stored.ogg' });
    const id = await prepareAndPut(api, file, { contentType: 'audio/ogg' });
    await api.gql(COMPLETE, { id });
    // As the dead attempt left it: the row says PROCESSING with a result and a level; only the M4A was stored.
    await query(db.url, `update audio_asset set status = 'PROCESSING', duration_seconds = 3,
      waveform_levels = '[{"samplesPerPixel":256,"length":517,"bits":8}]' where id = '${id}'`);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `audio/${id}.m4a`, Body: 'not the real M4A' }));
    const worker = await startTestApp({ role: 'worker', db, s3, tmpDir: tmp });
    try {
      const final = await waitFor('DONE', async () => {
        const a = await statusOf(api, id);
        return ended(a) ? a : null;
      }, 30_000);
      assert.equal(final.status, 'DONE', JSON.stringify(final));
      const keys = await s3.listKeys();
      assert.ok(keys.includes(`waveform/${id}/256.dat`) && keys.includes(`waveform/${id}/256.json`), keys.filter((k) => k.includes(id)).join(', '));
      const m4a = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `audio/${id}.m4a` }));
      assert.ok(Number(m4a.ContentLength) > 10_000, `the M4A was written again (${m4a.ContentLength} bytes)`);
    } finally {
      await worker.stop();
    }
  });

  it('on SIGTERM stops taking jobs, lets the running one finish, and exits 0', async () => {
    const env = { ...serviceEnv(db, s3, tmp), WORKER_CONCURRENCY: '1' };
    const w = await spawnService('worker', env);
    children.push(w);
    // Every role answers probes on PORT; a worker serves no GraphQL.
    assert.match(await (await fetch(`${w.url}/metrics`, { headers: METRICS_HEADERS })).text(), /^audio_queue_depth /m);
    assert.equal((await fetch(`${w.url}/graphql`, { method: 'POST' })).status, 404);
    const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 200, fileName: 'graceful.ogg' });
    const id = await prepareAndPut(api, file, { contentType: 'audio/ogg' });
    await api.gql(COMPLETE, { id });
    await waitFor('ffmpeg to start', async () => (await ffmpegProcesses(id)).length > 0, 20_000);
    w.child.kill('SIGTERM');
    assert.deepEqual(await w.exited, { code: 0, signal: null }, w.output());
    assert.equal((await statusOf(api, id)).status, 'DONE');
    assert.deepEqual(await ffmpegProcesses(id), []);
  });
});

describe('faults: time limit, storage restart, database connections cut', () => {
  let t: TestApp;
  let fixtures: string;
  before(async () => {
    fixtures = await mkdtemp(path.join(tmpdir(), 'faults-fx-'));
  });
  after(async () => {
    await rm(fixtures, { recursive: true, force: true });
  });

  it('fails a job that passes JOB_TIMEOUT_SECONDS with TIMEOUT, kills ffmpeg and removes everything', async () => {
    t = await startTestApp({ env: { JOB_TIMEOUT_SECONDS: '2' } });
    try {
      const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 1200, fileName: 'long.ogg' });
      const id = await prepareAndPut(t, file, { contentType: 'audio/ogg' });
      const started = Date.now();
      await t.gql(COMPLETE, { id });
      const final = await waitFor('the timeout', async () => {
        const a = await statusOf(t, id);
        return ended(a) ? a : null;
      }, 30_000);
      assert.deepEqual(final.error, { code: 'TIMEOUT' });
      assert.ok(Date.now() - started < 15_000);
      assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
      assert.deepEqual(await readdir(t.tmpDir), []);
      assert.deepEqual(await ffmpegProcesses(id), []);
    } finally {
      await t.stop();
    }
  });

  /** An app whose storage is reached through a proxy serving 256 KiB/s, so a 60 s Ogg is still being read a second in. */
  async function behindProxy(run: (app: TestApp, proxy: StorageProxy, id: string) => Promise<void>) {
    const s3 = await testS3();
    const storage = new URL(s3.endpoint);
    const proxy = await startStorageProxy({ host: storage.hostname, port: Number(storage.port) }, 256 * 1024);
    const app = await startTestApp({ s3: { ...s3, endpoint: `http://127.0.0.1:${proxy.port}` } });
    try {
      const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 60, fileName: 'proxied.ogg' });
      const id = await prepareAndPut(app, file, { contentType: 'audio/ogg' });
      await app.gql(COMPLETE, { id });
      await waitFor('ffmpeg to start', async () => (await ffmpegProcesses(id)).length > 0, 20_000);
      // ffmpeg is reading now: a fraction of the file has gone through.
      await new Promise((r) => setTimeout(r, 500));
      await run(app, proxy, id);
      const final = await waitFor('the retry to finish', async () => {
        const a = await statusOf(app, id);
        return ended(a) ? a : null;
      }, 60_000);
      assert.equal(final.status, 'DONE', JSON.stringify(final));
      assert.ok(Math.abs(final.duration! - 60) < 0.1, `duration ${final.duration}`);
      assert.ok(await metricValue(app, 'audio_jobs_total{outcome="retry",code=""}') >= 1, 'the cut attempt was handed back for a retry');
      assert.equal(await metricValue(app, 'audio_jobs_total{outcome="done",code=""}'), 1, 'one attempt ended DONE');
      assert.deepEqual(objectsOf(await app.s3.listKeys(), id).filter((k) => k.startsWith('uploads/')), [], 'the original is gone');
    } finally {
      await app.stop();
      await proxy.close();
      await s3.stop();
    }
  }

  // The storage answers again at once: only ffmpeg's own report can tell this from a corrupt file.
  it('retries a read cut mid-file while the storage stays up, and ends DONE once', async () => {
    await behindProxy(async (_app, proxy) => proxy.reset());
  });

  it('retries when the storage goes away mid-read and comes back, and ends DONE once', async () => {
    await behindProxy(async (_app, proxy) => {
      await proxy.cut();
      await new Promise((r) => setTimeout(r, 1500));
      await proxy.restore();
    });
  });

  it('survives its database connections being terminated mid-job, and subscribers keep getting events', async () => {
    t = await startTestApp();
    try {
      const file = await makeAudio(fixtures, { kind: 'ogg-opus', seconds: 300, fileName: 'pgkill.ogg' });
      const id = await prepareAndPut(t, file, { contentType: 'audio/ogg' });
      const ws = t.ws(await t.token());
      const sub = collect<{ assetUpdated: Asset }>(ws, `subscription($id: ID) { assetUpdated(id: $id) { status progress duration error { code } } }`, { id }, (e) => ended(e.assetUpdated), 60_000);
      await sub.ready;
      await t.gql(COMPLETE, { id });
      await waitFor('ffmpeg to start', async () => (await ffmpegProcesses(id)).length > 0, 20_000);
      const admin = new pg.Client({ connectionString: t.db.url });
      await admin.connect();
      const killed = await admin.query(
        'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      await admin.end();
      assert.ok(killed.rows[0].n > 0);
      const events = await sub.done;
      assert.equal(events.at(-1)!.assetUpdated.status, 'DONE', JSON.stringify(events.at(-1)));
      assert.deepEqual(objectsOf(await t.s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
      const health = await waitFor('healthy again', async () => (await fetch(`${t.app.url}/healthz`)).ok, 10_000);
      assert.ok(health);
    } finally {
      await t.stop();
    }
  });

  it('a client that missed events while disconnected re-queries and sees the final state', async () => {
    t = await startTestApp();
    try {
      const file = await makeAudio(fixtures, { kind: 'wav', seconds: 2, fileName: 'missed.wav' });
      const id = await prepareAndPut(t, file, { contentType: 'audio/wav' });
      const ws = t.ws(await t.token());
      const sub = collect<{ assetUpdated: Asset }>(ws, `subscription($id: ID) { assetUpdated(id: $id) { status } }`, { id }, () => false, 2_000);
      await sub.ready;
      await ws.dispose(); // gone before anything happens
      await sub.done.catch(() => []);
      await t.gql(COMPLETE, { id });
      const final = await waitFor('DONE', async () => {
        const a = (await t.gql(ASSET, { id })).data.asset;
        return a.status === 'DONE' ? a : null;
      }, 30_000);
      assert.ok(final.url && final.duration > 1.9 && final.waveform.length === 64);
    } finally {
      await t.stop();
    }
  });
});
