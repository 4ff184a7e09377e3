// A 100 MB upload interrupted by a reload resumes: the page is given the same
// file again, finds its asset, learns from the service which parts storage
// holds (s3rver has no ListParts: the service's own record answers) and
// sends only the others. Counted at a proxy in front of the S3 server.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { makeAudio } from '../helpers/fixtures.js';
import { ASSET, startTestApp, type TestApp } from '../helpers/app.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';
import { type ExternalS3, startExternalS3 } from './external-s3.js';

const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const PART_BYTES = 16 * 1024 * 1024; // the default MULTIPART_PART_BYTES
const SECONDS = 567; // 44.1 kHz stereo 16-bit: ~100 MB

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a large upload interrupted by a reload', { skip: skipWithoutChromium }, () => {
  let s3: ExternalS3;
  let t: TestApp;
  let b: Browser;
  let dir: string;
  let db: pg.Client;

  before(async () => {
    s3 = await startExternalS3();
    t = await startTestApp({ s3 });
    db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    dir = await mkdtemp(path.join(tmpdir(), 'browser-resume-'));
    b = await launch();
  });
  after(async () => {
    await db?.end();
    await b?.close();
    await t?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('resumes the same asset after a reload and sends only the missing parts', async () => {
    const file = await makeAudio(dir, { kind: 'wav', seconds: SECONDS, fileName: 'long-interview.wav' });
    const { size } = await stat(file);
    const partCount = Math.ceil(size / PART_BYTES);
    assert.ok(size > 100_000_000 && partCount === 6, `${size} bytes, ${partCount} parts`);
    const token = await t.token('resume-user');
    await b.page.goto(`${t.app.url}/#token=${token}`);
    await b.page.getByText('No audio yet').waitFor();

    // Parts 1 and 2 get through; 3 and up are held until the page goes away.
    s3.hold((p) => (p.partNumber ?? 0) >= 3);
    await b.page.setInputFiles('input[type=file]', file);
    const card = b.page.locator('[data-asset-id]').filter({ hasText: 'long-interview.wav' });
    const id = (await card.getAttribute('data-asset-id', { timeout: 30_000 }))!;
    const recorded = () => db.query('select part_number from upload_part where asset_id = $1 order by 1', [id]).then((r) => r.rows.map((x) => x.part_number as number));
    await waitFor('parts 1 and 2 recorded', async () => (await recorded()).length === 2);
    assert.deepEqual(await recorded(), [1, 2]);
    // Bytes, speed and time left while it runs.
    assert.match(await card.locator('.transfer').innerText(), /MB of 95\.4 MB/);
    await b.screenshot('web-resume-01-before-reload');

    await b.page.reload();
    await card.getByText('Upload interrupted: choose long-interview.wav again to resume it.').waitFor();
    await b.screenshot('web-resume-02-interrupted');
    s3.release(); // the held PUTs died with the page: nothing of them reaches storage
    assert.deepEqual([...s3.forwardedPuts.keys()].sort(), [1, 2]);

    // The same file again: the last part waits, so the resumed progress can be read.
    s3.hold((p) => p.partNumber === partCount);
    await b.page.setInputFiles('input[type=file]', file);
    await card.locator('.transfer').getByText(/already stored/).waitFor({ timeout: 30_000 });
    const transfer = await waitFor('speed and time left', async () => {
      const text = await card.locator('.transfer').innerText();
      return /\/s · \d+:\d\d left/.test(text) && text;
    });
    assert.match(transfer, /resumed: 32\.0 MB were already stored/);
    await b.screenshot('web-resume-03-resumed');
    s3.release();

    await card.locator(WAVEFORM).waitFor({ timeout: 180_000 });
    const api = (await t.gql(ASSET, { id }, token)).data.asset;
    assert.equal(api.status, 'DONE');
    assert.ok(Math.abs(api.duration - SECONDS) < 0.1, `duration ${api.duration}`);
    assert.equal(await b.page.locator('[data-asset-id]').count(), 1, 'the same asset, not a second one');
    // Every part reached storage exactly once; parts 1 and 2 were never sent again.
    assert.deepEqual(Object.fromEntries(s3.forwardedPuts), Object.fromEntries(Array.from({ length: partCount }, (_, i) => [i + 1, 1])));
    assert.equal(s3.seenPuts.get(1), 1);
    assert.equal(s3.seenPuts.get(2), 1);
    assert.deepEqual(await recorded(), [], 'the parts record goes once the upload is completed');
    assert.equal(await b.page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('audio-service.uploads')), '[]');
  });
});
