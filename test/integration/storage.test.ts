import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { FILE_PART_BYTES, FILE_SINGLE_PUT_MAX_BYTES, Storage } from '../../src/storage/s3.js';
import { type TestS3, testS3 } from '../helpers/services.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('Storage.putFile against a real S3 server', () => {
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

  // One size for the single PUT, one just past it: parts read into one reused
  // buffer must still arrive whole and in order (a refill before its part was
  // sent would corrupt the object).
  for (const size of [300_000, FILE_SINGLE_PUT_MAX_BYTES + 2 * FILE_PART_BYTES + 12_345]) {
    it(`stores a ${size}-byte file byte for byte, with its type and disposition`, async () => {
      const bytes = randomBytes(size);
      const file = path.join(dir, `f-${size}`);
      await writeFile(file, bytes);
      const key = `audio/test-${size}.m4a`;
      await storage.putFile(key, file, { contentType: 'audio/mp4', contentDisposition: 'inline; filename="x.m4a"' });
      const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const body = await r.Body!.transformToByteArray();
      assert.equal(body.length, size);
      assert.equal(sha256(body), sha256(bytes));
      assert.equal(r.ContentType, 'audio/mp4');
      assert.equal(r.ContentDisposition, 'inline; filename="x.m4a"');
    });
  }

  // The streamed M4A's order (media/m4a-parts.ts): later parts first, part 1
  // last and sent as two chunks (header + payload) in one request.
  it('openMultipart takes parts in any order, a part in several chunks, and stores nothing until complete', async () => {
    const key = 'audio/test-streamed.m4a';
    const [header, first, second, last] = [randomBytes(1000), randomBytes(FILE_PART_BYTES), randomBytes(FILE_PART_BYTES), randomBytes(777)];
    const upload = await storage.openMultipart(key, { contentType: 'audio/mp4', contentDisposition: 'inline; filename="y.m4a"' });
    await upload.put(2, [second]);
    await upload.put(3, [last]);
    await upload.put(1, [header, first]);
    assert.equal(await storage.head(key), null, 'the object exists before the upload completed');
    await upload.complete();
    const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const body = await r.Body!.transformToByteArray();
    assert.equal(sha256(body), sha256(Buffer.concat([header, first, second, last])));
    assert.equal(r.ContentType, 'audio/mp4');
    assert.equal(r.ContentDisposition, 'inline; filename="y.m4a"');
  });

  it('an aborted multipart upload leaves no object', async () => {
    const key = 'audio/test-aborted.m4a';
    const upload = await storage.openMultipart(key, { contentType: 'audio/mp4' });
    await upload.put(2, [randomBytes(1000)]);
    await upload.abort(); // s3rver has no AbortMultipartUpload: must not throw either way
    assert.equal(await storage.head(key), null);
  });
});
