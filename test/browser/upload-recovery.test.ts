// An upload outlives its URLs and meets a storage fault: the page renews the
// URLs (renewUploadUrls) when storage refuses an expired one, and retries a
// failed part with backoff, and the file still arrives whole. Also the API
// that resuming rests on: recordUploadedPart and renewUploadUrls' uploadedParts.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeAudio } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';
import { type ExternalS3, startExternalS3 } from './external-s3.js';

const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const MIB = 1024 * 1024;
const TTL_SECONDS = 4;

const RENEW = /* GraphQL */ `
  mutation Renew($id: ID!) {
    renewUploadUrls(id: $id) { multipart { partSize parts { partNumber url } } uploadedParts { partNumber etag } }
  }`;
const RECORD = /* GraphQL */ `
  mutation Record($input: RecordUploadedPartInput!) {
    recordUploadedPart(input: $input) { partNumber etag }
  }`;
const PREPARE = /* GraphQL */ `
  mutation Prepare($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) { asset { id } uploadUrl multipart { partSize parts { partNumber url } } uploadedParts { partNumber } }
  }`;

describe('upload recovery: expired URLs and failed parts', { skip: skipWithoutChromium }, () => {
  let s3: ExternalS3;
  let t: TestApp;
  let b: Browser;
  let dir: string;

  before(async () => {
    s3 = await startExternalS3();
    t = await startTestApp({
      s3,
      env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB), UPLOAD_URL_TTL_SECONDS: String(TTL_SECONDS) },
    });
    dir = await mkdtemp(path.join(tmpdir(), 'browser-recovery-'));
    b = await launch();
  });
  after(async () => {
    await b?.close();
    await t?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renews URLs that storage refuses as expired, retries a failed part with backoff, and completes', async () => {
    const file = await makeAudio(dir, { kind: 'wav', seconds: 50, fileName: 'flaky-network.wav' }); // ~8.8 MB: 2 parts
    const token = await t.token('recovery-user');
    const renewals: number[] = [];
    b.page.on('request', (r) => r.method() === 'POST' && r.postData()?.includes('RenewUploadUrls') && renewals.push(Date.now()));
    await b.page.goto(`${t.app.url}/#token=${token}`);
    await b.page.getByText('No audio yet').waitFor();

    // Part 1: storage answers 503 once. Part 2: its first PUT waits past the
    // URL's expiry, so the S3 server itself refuses it (403 Request has expired).
    s3.failOnce((p) => p.partNumber === 1, 503, 'SlowDown');
    let heldOnce = false;
    s3.hold((p) => p.partNumber === 2 && !heldOnce && (heldOnce = true));
    await b.page.setInputFiles('input[type=file]', file);
    await new Promise((r) => setTimeout(r, (TTL_SECONDS + 1.5) * 1000));
    s3.release();

    const card = b.page.locator('[data-asset-id]').filter({ hasText: 'flaky-network.wav' });
    await card.locator(WAVEFORM).waitFor({ timeout: 60_000 });
    assert.ok(Math.abs(Number(await card.locator(WAVEFORM).getAttribute('aria-valuemax')) - 50) < 0.05);
    assert.equal(s3.seenPuts.get(1), 2, 'part 1 sent again after the 503');
    assert.equal(s3.forwardedPuts.get(1), 1);
    assert.equal(s3.seenPuts.get(2), 2, 'part 2 sent again after storage refused its expired URL');
    assert.equal(s3.forwardedPuts.get(2), 2, 'the expired PUT reached storage, which refused it');
    assert.ok(renewals.length >= 1, 'renewUploadUrls was called');
  });

  it('records parts and lists them on renewal; refuses bad parts and single-request uploads', async () => {
    const token = await t.token('api-user');
    const body = await readFile(await makeAudio(dir, { kind: 'wav', seconds: 40, fileName: 'api.wav' })); // ~7 MB: 2 parts
    const prepared = (await t.gql(PREPARE, { input: { filename: 'api.wav', size: body.length, contentType: 'audio/wav' } }, token)).data.prepareAudioUpload;
    assert.deepEqual(prepared.uploadedParts, []);
    const id = prepared.asset.id;
    const first = prepared.multipart.parts[0];
    const put = await fetch(first.url, { method: 'PUT', body: body.subarray(0, prepared.multipart.partSize) });
    const etag = put.headers.get('etag')!;
    assert.ok(etag);

    assert.deepEqual((await t.gql(RENEW, { id }, token)).data.renewUploadUrls.uploadedParts, [], 'nothing recorded yet (s3rver cannot list parts)');
    assert.deepEqual((await t.gql(RECORD, { input: { id, partNumber: 1, etag } }, token)).data.recordUploadedPart, { partNumber: 1, etag });
    assert.deepEqual((await t.gql(RENEW, { id }, token)).data.renewUploadUrls.uploadedParts, [{ partNumber: 1, etag }]);

    const code = async (input: Record<string, unknown>, as = token) => (await t.gql(RECORD, { input }, as)).errors?.[0]?.extensions?.code;
    assert.equal(await code({ id, partNumber: 3, etag }), 'BAD_USER_INPUT');
    assert.equal(await code({ id, partNumber: 0, etag }), 'BAD_USER_INPUT');
    assert.equal(await code({ id, partNumber: 2, etag: '  ' }), 'BAD_USER_INPUT');
    assert.equal(await code({ id, partNumber: 2, etag }, await t.token('someone-else')), 'NOT_FOUND');
    const single = (await t.gql(PREPARE, { input: { filename: 'small.wav', size: 1000, contentType: 'audio/wav' } }, token)).data.prepareAudioUpload;
    assert.equal(await code({ id: single.asset.id, partNumber: 1, etag }), 'BAD_USER_INPUT');
  });
});
