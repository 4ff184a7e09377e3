import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeadBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/processes.js';

const MIB = 1024 * 1024;
const PREPARE_MULTIPART = /* GraphQL */ `
  mutation($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) { asset { id } multipart { partSize parts { partNumber url } } }
  }`;
const COMPLETE_PARTS = /* GraphQL */ `
  mutation($id: ID!, $parts: [UploadedPartInput!]) { completeAudioUpload(input: { id: $id, parts: $parts }) { id status } }`;
const STATUS = `query($id: ID!) { asset(id: $id) { status } }`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('embedded S3 in its own supervised process', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) } });
  });
  after(async () => {
    await t?.stop();
  });
  const health = async () => (await fetch(`${t.app.url}/healthz`)).status;

  it('answers completing a multipart upload with a part it never received as UPLOAD_NOT_FOUND and keeps serving', async () => {
    const pid = t.s3.pid()!;
    const size = 6 * MIB; // two parts
    const r = await t.gql(PREPARE_MULTIPART, { input: { filename: 'parts.wav', size, contentType: 'audio/wav' } });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const p = r.data.prepareAudioUpload;
    const put = await fetch(p.multipart.parts[0].url, { method: 'PUT', body: Buffer.alloc(p.multipart.partSize, 1) });
    assert.equal(put.status, 200);
    const etag = put.headers.get('etag')!;

    const done = await t.gql(COMPLETE_PARTS, { id: p.asset.id, parts: [{ partNumber: 1, etag }, { partNumber: 2, etag }] });
    assert.equal(done.errors?.[0]?.extensions?.code, 'UPLOAD_NOT_FOUND', JSON.stringify(done));
    assert.equal((await t.gql(STATUS, { id: p.asset.id })).data.asset.status, 'AWAITING_UPLOAD');
    // Neither the storage process nor the service went down for it.
    assert.equal(t.s3.pid(), pid);
    assert.equal(await health(), 200);
  });

  it('restarts a storage process that dies, on the same port with the same objects; /healthz is 503 meanwhile', async () => {
    await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key: 'kept', Body: 'still here' }));
    const pid = t.s3.pid()!;
    process.kill(pid, 'SIGSTOP'); // an unresponsive storage: the health check times out
    try {
      await waitFor('/healthz to report the storage down', async () => (await health()) === 503, 20_000);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
    await waitFor('the old storage process to be gone', async () => !alive(pid), 10_000);
    const next = await waitFor('a new storage process', async () => t.s3.pid() !== pid && t.s3.pid(), 10_000);
    assert.ok(alive(next));
    await waitFor('/healthz to recover', async () => (await health()) === 200, 20_000);
    await t.s3.client.send(new HeadBucketCommand({ Bucket: t.s3.bucket }));
    const got = await t.s3.client.send(new GetObjectCommand({ Bucket: t.s3.bucket, Key: 'kept' }));
    assert.equal(await got.Body!.transformToString(), 'still here');
  });
});
