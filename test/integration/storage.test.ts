import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { OriginalChangedError } from '../../src/media/result.js';
import { Storage } from '../../src/storage/s3.js';
import { type TestS3, testS3 } from '../helpers/services.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('Storage against a real S3 server', () => {
  let s3: TestS3;
  let storage: Storage;
  let dir: string;
  before(async () => {
    s3 = await testS3();
    dir = await mkdtemp(path.join(tmpdir(), 'storage-test-'));
    storage = new Storage({
      endpoint: s3.endpoint, publicEndpoint: null, bucket: s3.bucket, region: 'us-east-1',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, forcePathStyle: true,
    });
  });
  after(async () => {
    storage?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every key under a prefix past one page (1,000 keys), and none outside it', async () => {
    const keys = Array.from({ length: 1_205 }, (_, i) => `list-test/k${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: 'x' }))));
    }
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'list-testing/outside', Body: 'x' }));
    const listed: string[] = [];
    for await (const { key } of storage.listKeys('list-test/')) listed.push(key);
    assert.deepEqual(listed, keys);
  });

  // One size for a single PUT, one of several parts: they must arrive whole and in order.
  for (const size of [300_000, 2 * 5 * 1024 * 1024 + 12_345]) {
    it(`stores a ${size}-byte file byte for byte, with its type and disposition`, async () => {
      const bytes = randomBytes(size);
      const file = path.join(dir, `f-${size}`);
      await writeFile(file, bytes);
      const key = `audio/test-${size}.m4a`;
      await storage.uploadFile({ key, path: file, contentType: 'audio/mp4', contentDisposition: 'inline; filename="x.m4a"' });
      const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const body = await r.Body!.transformToByteArray();
      assert.equal(body.length, size);
      assert.equal(sha256(body), sha256(bytes));
      assert.equal(r.ContentType, 'audio/mp4');
      assert.equal(r.ContentDisposition, 'inline; filename="x.m4a"');
    });
  }

  it('reads a range of the version it was given, at most the bytes asked for, and notices a replaced object', async () => {
    const key = 'uploads/test-range';
    const bytes = randomBytes(10_000);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }));
    const head = await storage.head(key);
    assert.ok(head?.etag, 'an ETag');
    assert.deepEqual(Buffer.from(await storage.getRange(key, 100, 199, head.etag)), bytes.subarray(100, 200));
    assert.equal((await storage.getRange(key, 9_990, 20_000, head.etag)).length, 10);
    // A second PUT of the same length: whether the storage honours If-Match (412) or not, the read is refused.
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: randomBytes(10_000) }));
    await assert.rejects(storage.getRange(key, 0, 99, head.etag), OriginalChangedError);
  });
});
