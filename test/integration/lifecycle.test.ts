import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { makeAudio } from '../helpers/fixtures.js';
import { COMPLETE, collect, leftoverTmp, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { ffmpegProcesses, waitFor } from '../helpers/processes.js';
import { objectsOf } from '../helpers/waveform-reference.js';

const MIB = 1024 * 1024;
const PREPARE_MULTIPART = /* GraphQL */ `
  mutation($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) { asset { id status } uploadUrl uploadHeaders { name } multipart { partSize parts { partNumber url } } expiresAt }
  }`;
const COMPLETE_PARTS = /* GraphQL */ `
  mutation($id: ID!, $parts: [UploadedPartInput!]) { completeAudioUpload(input: { id: $id, parts: $parts }) { id status error { code } } }`;
const RENEW = /* GraphQL */ `
  mutation($id: ID!) { renewUploadUrls(id: $id) { uploadUrl multipart { parts { partNumber url } } expiresAt } }`;
const STATUS = `query($id: ID!) { asset(id: $id) { status error { code } } }`;
const SUB = `subscription($id: ID) { assetUpdated(id: $id) { status error { code } } }`;
type Ev = { assetUpdated: { status: string; error: { code: string } | null } };

async function putPart(url: string, body: Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', body });
  assert.equal(res.status, 200, await res.text());
  return res.headers.get('etag')!;
}

describe('upload lifecycle', () => {
  let t: TestApp;
  let dir: string;
  let big: Buffer;
  before(async () => {
    t = await startTestApp({ env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) } });
    dir = await mkdtemp(path.join(tmpdir(), 'lifecycle-'));
    big = await readFile(await makeAudio(dir, { kind: 'wav', seconds: 62 })); // ~10.9 MB: 3 parts
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const prepareBig = async () => {
    const r = await t.gql(PREPARE_MULTIPART, { input: { filename: 'long.wav', size: big.length, contentType: 'audio/wav' } });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    return r.data.prepareAudioUpload;
  };
  const slice = (partSize: number, n: number) => big.subarray((n - 1) * partSize, n * partSize);

  it('hands out presigned part URLs above the threshold, each signed for its exact length', async () => {
    const p = await prepareBig();
    assert.equal(p.uploadUrl, null);
    assert.deepEqual(p.uploadHeaders, []);
    assert.equal(p.multipart.partSize, 5 * MIB);
    assert.deepEqual(p.multipart.parts.map((x: { partNumber: number }) => x.partNumber), [1, 2, 3]);
    for (const part of p.multipart.parts) {
      const url = new URL(part.url);
      assert.equal(url.searchParams.get('partNumber'), String(part.partNumber));
      assert.ok(url.searchParams.get('X-Amz-SignedHeaders')!.split(';').includes('content-length'));
    }
  });

  it('uploads in parts, refuses bad parts lists without aborting, takes a re-sent part and finishes DONE', async () => {
    const p = await prepareBig();
    const id = p.asset.id;
    const urls = p.multipart.parts.map((x: { url: string }) => x.url);
    const e1 = await putPart(urls[0], slice(p.multipart.partSize, 1));
    const e3 = await putPart(urls[2], slice(p.multipart.partSize, 3));
    const bad: [string, unknown][] = [
      ['no parts', null],
      ['an incomplete list', [{ partNumber: 1, etag: e1 }]],
      ['parts out of order', [{ partNumber: 3, etag: e3 }, { partNumber: 1, etag: e1 }, { partNumber: 2, etag: e1 }]],
      ['an empty etag', [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: ' ' }, { partNumber: 3, etag: e3 }]],
    ];
    for (const [name, parts] of bad) {
      const r = await t.gql(COMPLETE_PARTS, { id, parts });
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', name);
      assert.match(r.errors![0]!.message, /part/, name);
    }
    // A part never uploaded (S3 InvalidPart, UPLOAD_NOT_FOUND): embedded-s3.test.ts.
    // A part PUT twice keeps the last body: first a wrong one, then the right one.
    await putPart(p.multipart.parts[1].url, Buffer.alloc(p.multipart.partSize, 9));
    assert.equal((await t.gql(STATUS, { id })).data.asset.status, 'AWAITING_UPLOAD');

    // Renewed URLs keep the upload: part 2 goes up through a fresh URL.
    const renewed = (await t.gql(RENEW, { id })).data.renewUploadUrls;
    assert.ok(new Date(renewed.expiresAt) >= new Date(p.expiresAt));
    const e2 = await putPart(renewed.multipart.parts[1].url, slice(p.multipart.partSize, 2));

    const ws = t.ws(await t.token());
    const sub = collect<Ev>(ws, SUB, { id }, (e) => ['DONE', 'FAILED'].includes(e.assetUpdated.status), 60_000);
    await sub.ready;
    const done = await t.gql(COMPLETE_PARTS, { id, parts: [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }, { partNumber: 3, etag: e3 }] });
    assert.equal(done.data.completeAudioUpload.status, 'QUEUED', JSON.stringify(done));
    const events = await sub.done;
    assert.equal(events.at(-1)!.assetUpdated.status, 'DONE', JSON.stringify(events));
    assert.deepEqual(objectsOf(await t.s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
    const renewDone = await t.gql(RENEW, { id });
    assert.equal(renewDone.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  describe('deleteAudioAsset leaves nothing, in every state', () => {
    it('while AWAITING_UPLOAD with a multipart upload under way', async () => {
      const p = await prepareBig();
      await putPart(p.multipart.parts[0].url, slice(p.multipart.partSize, 1));
      const d = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id: p.asset.id });
      assert.equal(d.data.deleteAudioAsset, true);
      assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(p.asset.id)), []);
    });

    it('while PROCESSING: the job stops and whatever it wrote is removed', async () => {
      const file = await makeAudio(dir, { kind: 'ogg-opus', seconds: 400 }); // under the 5 MiB multipart threshold
      const id = await prepareAndPut(t, file, { contentType: 'audio/ogg' });
      const ws = t.ws(await t.token());
      const sub = collect<Ev>(ws, SUB, { id }, (e) => e.assetUpdated.status === 'PROCESSING', 30_000);
      await sub.ready;
      await t.gql(COMPLETE, { id });
      await sub.done;
      await waitFor('ffmpeg to start', async () => (await ffmpegProcesses(id)).length > 0, 5000);
      const d = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
      assert.equal(d.data.deleteAudioAsset, true);
      // Stopped, not left to finish: its ffmpeg is gone within a second.
      await waitFor('ffmpeg to be killed', async () => (await ffmpegProcesses(id)).length === 0, 1500);
      // The worker notices, kills ffmpeg and cleans up: nothing stays, in storage or TMPDIR.
      await waitFor('temp files and objects to go', async () => (await leftoverTmp(t)).length === 0 && (await t.s3.listKeys()).every((k) => !k.includes(id)), 20_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
      assert.equal((await t.gql(STATUS, { id })).data.asset, null);
    });

    it('once DONE or FAILED', async () => {
      const file = await makeAudio(dir, { kind: 'wav', seconds: 1, fileName: 'short.wav' });
      for (const body of [await readFile(file), Buffer.from('MZ not audio at all')]) {
        const id = await prepareAndPut(t, body, { contentType: 'audio/wav' });
        const ws = t.ws(await t.token());
        const sub = collect<Ev>(ws, SUB, { id }, (e) => ['DONE', 'FAILED'].includes(e.assetUpdated.status), 30_000);
        await sub.ready;
        await t.gql(COMPLETE, { id });
        await sub.done;
        const d = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
        assert.equal(d.data.deleteAudioAsset, true);
        assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
      }
    });
  });

  describe('the sweep', () => {
    it('deletes objects of no live asset: a PUT through an old URL after the asset ended, strays under uploads/ and audio/', async () => {
      const body = Buffer.alloc(800, 1);
      const prepared = await t.gql(PREPARE_MULTIPART, { input: { filename: 'x.mp3', size: 1000, contentType: 'audio/mpeg' } });
      const { asset, uploadUrl } = prepared.data.prepareAudioUpload;
      await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body });
      const c = await t.gql(COMPLETE, { id: asset.id });
      assert.equal(c.data.completeAudioUpload.error.code, 'SIZE_MISMATCH');
      // The URL is still valid: a late PUT lands, but is never processed.
      await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(1000, 1) });
      const again = await t.gql(COMPLETE, { id: asset.id });
      assert.equal(again.data.completeAudioUpload.status, 'FAILED');
      const strays = ['uploads/11111111-1111-4111-8111-111111111111', 'audio/22222222-2222-4222-8222-222222222222.m4a'];
      for (const Key of strays) await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key, Body: 'x' }));
      const result = await t.app.sweep({ full: true });
      assert.deepEqual([...result.orphansDeleted].sort(), [`uploads/${asset.id}`, ...strays].sort());
      const left = await t.s3.listKeys();
      for (const k of [`uploads/${asset.id}`, ...strays]) assert.ok(!left.includes(k), k);
    });

    it('keeps what live assets still need', async () => {
      const id = await prepareAndPut(t, Buffer.alloc(100, 1));
      const result = await t.app.sweep({ full: true });
      assert.ok(!result.orphansDeleted.includes(`uploads/${id}`));
      assert.ok((await t.s3.listKeys()).includes(`uploads/${id}`));
    });
  });
});

describe('the sweep with a short upload window', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      env: {
        UPLOAD_URL_TTL_SECONDS: '3',
        UPLOAD_EXPIRY_GRACE_SECONDS: '0',
        MULTIPART_THRESHOLD_BYTES: String(5 * MIB),
        MULTIPART_PART_BYTES: String(5 * MIB),
      },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('fails expired single and multipart uploads UPLOAD_EXPIRED, tells subscribers, and removes their bytes', async () => {
    const single = await prepareAndPut(t, Buffer.alloc(300, 2));
    const mp = await t.gql(PREPARE_MULTIPART, { input: { filename: 'big.wav', size: 11 * MIB, contentType: 'audio/wav' } });
    const multi = mp.data.prepareAudioUpload;
    await putPart(multi.multipart.parts[0].url, Buffer.alloc(5 * MIB, 3));
    const ws = t.ws(await t.token());
    const sub = collect<Ev & { assetUpdated: { id?: string } }>(ws, `subscription { assetUpdated { id status error { code } } }`, {}, (_e, all) => all.length >= 2, 20_000);
    await sub.ready;
    await new Promise((r) => setTimeout(r, 3200));
    const result = await t.app.sweep();
    assert.equal(result.expired, 2);
    for (const id of [single, multi.asset.id]) {
      const a = await t.gql(STATUS, { id });
      assert.deepEqual(a.data.asset, { status: 'FAILED', error: { code: 'UPLOAD_EXPIRED' } });
    }
    const events = await sub.done;
    assert.deepEqual(events.map((e) => e.assetUpdated.error?.code), ['UPLOAD_EXPIRED', 'UPLOAD_EXPIRED']);
    assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(single) || k.includes(multi.asset.id)), []);
    const late = await t.gql(COMPLETE, { id: single });
    assert.equal(late.data.completeAudioUpload.status, 'FAILED');
  });

  it('each minute deletes by key the original PUT late through the URL of an ended asset once that URL expired, and lists nothing', async () => {
    const prepared = await t.gql(PREPARE_MULTIPART, { input: { filename: 'late.mp3', size: 1000, contentType: 'audio/mpeg' } });
    const { asset, uploadUrl } = prepared.data.prepareAudioUpload;
    await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(10, 1) });
    assert.equal((await t.gql(COMPLETE, { id: asset.id })).data.completeAudioUpload.error.code, 'SIZE_MISMATCH');
    assert.ok((await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(1000, 1) })).ok);
    const stray = 'uploads/33333333-3333-4333-8333-333333333333';
    await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key: stray, Body: 'x' }));
    await t.app.sweep();
    assert.ok((await t.s3.listKeys()).includes(`uploads/${asset.id}`), 'kept while its URL is valid');
    await new Promise((r) => setTimeout(r, 3200));
    const result = await t.app.sweep();
    assert.ok(result.lateUploadsDeleted >= 1);
    assert.deepEqual(result.orphansDeleted, [], 'the minute sweep lists nothing');
    const left = await t.s3.listKeys();
    assert.ok(!left.includes(`uploads/${asset.id}`));
    assert.ok(left.includes(stray), 'a stray of no asset waits for the daily listing');
    assert.deepEqual((await t.app.sweep({ full: true })).orphansDeleted, [stray]);
  });
});
