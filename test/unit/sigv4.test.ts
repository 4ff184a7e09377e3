// Our SigV4 query presigner must write exactly what the AWS SDK writes for
// the same request and signing date (storage that checks signatures accepts
// both; s3rver does so in test/integration/api.test.ts). We sign ourselves
// because the SDK's presigner costs ~0.5 ms of CPU a URL (BENCHMARKS.md,
// "8. API: CPU per request": ~460 µs against ~15 µs), a large part of
// prepareAudioUpload and asset(id); this test is what makes that safe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import { Storage, type StorageOptions } from '../../src/storage/s3.js';
import { MAX_PRESIGN_EXPIRES_SECONDS, SigV4Presigner, amzDate, escapeUri } from '../../src/storage/sigv4.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

const ENDPOINTS: Omit<StorageOptions, 'credentials' | 'publicEndpoint'>[] = [
  { endpoint: 'http://127.0.0.1:9000', bucket: 'audio', region: 'us-east-1', forcePathStyle: true },
  { endpoint: 'https://minio.example.com:8443/base', bucket: 'audio-bucket', region: 'eu-west-3', forcePathStyle: true },
  { endpoint: 'https://storage.example.com', bucket: 'audio', region: 'eu-central-1', forcePathStyle: false },
  { endpoint: null, bucket: 'my-audio', region: 'ap-southeast-2', forcePathStyle: false },
];

function sdk(o: Omit<StorageOptions, 'credentials' | 'publicEndpoint'>) {
  const client = new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    put: (key: string, contentType: string, length: number, expiresIn: number, signingDate: Date) =>
      getSignedUrl(client, new PutObjectCommand({ Bucket: o.bucket, Key: key, ContentType: contentType, ContentLength: length }), {
        expiresIn,
        signingDate,
        signableHeaders: new Set(['content-type', 'content-length']),
      }),
    get: (key: string, response: { contentType?: string; contentDisposition?: string }, expiresIn: number, signingDate: Date) =>
      getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket: o.bucket, Key: key,
          ...(response.contentType !== undefined ? { ResponseContentType: response.contentType } : {}),
          ...(response.contentDisposition !== undefined ? { ResponseContentDisposition: response.contentDisposition } : {}),
        }),
        { expiresIn, signingDate },
      ),
  };
}

const keyArb = fc.oneof(
  fc.uuid().map((id) => `uploads/${id}`),
  fc.uuid().map((id) => `audio/${id}.m4a`),
  fc.stringMatching(/^[A-Za-z0-9!'()*._~ +=&%$-]{1,20}(\/[A-Za-z0-9!'()*._~ +=&%$-]{1,20}){0,3}$/),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.constantFrom('/lead', 'a//b', 'trail/', '.', '..', 'a/../b', 'a/./b'),
);
const dateArb = fc.date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
const contentTypeArb = fc.constantFrom('audio/mpeg', 'audio/webm;codecs=opus', 'application/octet-stream', 'video/mp4', 'audio/x-m4a; charset = "x"');

describe('SigV4Presigner', () => {
  it('formats the signing date as SigV4 wants it, without milliseconds', () => {
    assert.equal(amzDate(new Date('2026-11-25T20:00:00.999Z')), '20261125T200000Z');
  });

  it('escapes as RFC 3986 (what the SDK does), unreserved characters untouched', () => {
    assert.equal(escapeUri("a b!'()*~._-"), "a%20b%21%27%28%29%2A~._-");
    assert.equal(escapeUri('ü/é'), '%C3%BC%2F%C3%A9');
  });

  it('refuses a lifetime over S3\'s 7 days', () => {
    const s = new SigV4Presigner(credentials, 'us-east-1');
    const r = { method: 'GET' as const, origin: 'http://h', host: 'h', pathPrefix: '', key: 'k', query: {}, headers: {}, signingDate: new Date() };
    assert.throws(() => s.presign({ ...r, expiresInSeconds: MAX_PRESIGN_EXPIRES_SECONDS + 1 }), /604800/);
    assert.ok(s.presign({ ...r, expiresInSeconds: MAX_PRESIGN_EXPIRES_SECONDS }));
  });

  for (const e of ENDPOINTS) {
    describe(`against @aws-sdk/s3-request-presigner, endpoint ${e.endpoint ?? 'AWS'} (${e.forcePathStyle ? 'path' : 'virtual-hosted'} style)`, () => {
      const storage = new Storage({ ...e, credentials, publicEndpoint: null });
      const reference = sdk(e);

      it('uses its own presigner for static credentials', async () => {
        assert.equal(await storage.usesOwnPresigner(), true);
      });

      it('writes byte-identical PUT URLs (property)', async () => {
        await fc.assert(
          fc.asyncProperty(keyArb, contentTypeArb, fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 604_800 }), dateArb, async (key, ct, n, ttl, date) => {
            assert.equal(await storage.presignPut(key, ct, n, ttl, date), await reference.put(key, ct, n, ttl, date));
          }),
          { numRuns: 150 },
        );
      });

      it('writes byte-identical GET URLs with response headers (property)', async () => {
        await fc.assert(
          fc.asyncProperty(keyArb, fc.uuid(), fc.integer({ min: 1, max: 604_800 }), dateArb, async (key, id, ttl, date) => {
            const response = { contentType: 'audio/mp4', contentDisposition: `inline; filename="audio-${id}.m4a"` };
            assert.equal(await storage.presignPublicGet(key, ttl, response, date), await reference.get(key, response, ttl, date));
          }),
          { numRuns: 150 },
        );
      });

      it('writes byte-identical GET URLs without response headers, and with only one of them', async () => {
        const date = new Date('2026-12-06T23:59:59.500Z');
        for (const response of [{}, { contentType: 'audio/mp4' }, { contentDisposition: 'attachment; filename="a b.m4a"' }]) {
          assert.equal(await storage.presignPublicGet('audio/x.m4a', 3600, response, date), await reference.get('audio/x.m4a', response, 3600, date));
        }
      });
    });
  }

  // Byte equality alone would also hold if both left the headers unsigned:
  // the PUT must bind the length and type the client declared.
  it('signs the PUT\'s Content-Length and Content-Type, and the GET\'s response overrides', async () => {
    const storage = new Storage({ ...ENDPOINTS[0]!, credentials, publicEndpoint: null });
    const date = new Date('2026-11-25T20:00:00Z');
    const put = new URL(await storage.presignPut('uploads/x', 'audio/mpeg', 5, 900, date));
    assert.equal(put.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
    assert.equal(put.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(put.searchParams.get('X-Amz-Date'), '20261125T200000Z');
    const signature = (u: string) => new URL(u).searchParams.get('X-Amz-Signature');
    assert.notEqual(signature(await storage.presignPut('uploads/x', 'audio/mpeg', 6, 900, date)), put.searchParams.get('X-Amz-Signature'));
    assert.notEqual(signature(await storage.presignPut('uploads/x', 'audio/ogg', 5, 900, date)), put.searchParams.get('X-Amz-Signature'));
    const get = new URL(await storage.presignPublicGet('audio/x.m4a', 900, { contentType: 'audio/mp4', contentDisposition: 'inline' }, date));
    assert.equal(get.searchParams.get('response-content-type'), 'audio/mp4');
    assert.equal(get.searchParams.get('response-content-disposition'), 'inline');
    assert.notEqual(signature(await storage.presignPublicGet('audio/x.m4a', 900, { contentType: 'text/html', contentDisposition: 'inline' }, date)), get.searchParams.get('X-Amz-Signature'));
  });

  it('signs client URLs for S3_PUBLIC_ENDPOINT, not the internal endpoint', async () => {
    const pub = { endpoint: 'https://files.example.com', bucket: 'audio', region: 'us-east-1', forcePathStyle: true };
    const storage = new Storage({ ...pub, endpoint: 'http://minio.internal:9000', publicEndpoint: pub.endpoint, credentials });
    const date = new Date('2026-11-25T20:00:00Z');
    const url = await storage.presignPut('uploads/x', 'audio/mpeg', 5, 900, date);
    assert.equal(url, await sdk(pub).put('uploads/x', 'audio/mpeg', 5, 900, date));
    assert.ok(url.startsWith('https://files.example.com/audio/uploads/x?'));
  });

  it('leaves signing to the SDK when credentials come from its provider chain', async () => {
    const storage = new Storage({ ...ENDPOINTS[0]!, credentials: null, publicEndpoint: null });
    assert.equal(await storage.usesOwnPresigner(), false);
  });
});
