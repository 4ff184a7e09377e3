// The web app at `/` in a real Chromium against the real service: what the
// contract promises of `/` (outside browser tests rely on it) and what issue
// 10 asks of the player. Screenshots of each state go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { makeAudio } from '../helpers/fixtures.js';
import { ASSET, COMPLETE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';
import { controlWebSockets, type WsControl } from './ws-control.js';

const SECONDS = 20;
const BARS = 64; // web/src/operations.ts
const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const MIB = 1024 * 1024;

// Callbacks of evaluate() run in the page; this project compiles without DOM types.
interface PageAudio {
  currentTime: number;
  paused: boolean;
  readyState: number;
  error: { code: number } | null;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void;
}
type PageGlobal = { getComputedStyle(e: unknown): { color: string }; document: { documentElement: { scrollWidth: number } } };

const card = (b: Browser, id: string) => b.page.locator(`[data-asset-id="${id}"]`);
const currentTime = (c: Locator) => c.locator('audio').evaluate((a) => (a as unknown as PageAudio).currentTime);
const colorOf = (l: Locator) => l.evaluate((e) => (globalThis as unknown as PageGlobal).getComputedStyle(e).color);

/** A Windows executable: the magic bytes of a PE file. */
function peExecutable(): Buffer {
  const b = Buffer.alloc(4096);
  b.write('MZ', 0);
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'binary');
  return b;
}

describe('the web app in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let b: Browser;
  let ws: WsControl;
  let dir: string;
  let token: string;
  let doneId: string;

  before(async () => {
    // Multipart from 5 MiB (the S3 minimum part size), so a 7 MB file goes in parts.
    t = await startTestApp({ env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) } });
    dir = await mkdtemp(path.join(tmpdir(), 'browser-fixtures-'));
    token = await t.token('web-user');
    b = await launch();
    ws = await controlWebSockets(b.page);
    await b.page.goto(`${t.app.url}/#token=${token}`);
    await b.page.getByText('No audio yet').waitFor();
  });
  after(async () => {
    await b?.close();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads through the file input: Uploading (gray), Processing (blue, %), then a player with the waveform', async () => {
    // Silence, full tone, silence, half tone: a waveform with a shape to look at.
    const file = await makeAudio(dir, { kind: 'sequence', seconds: SECONDS, fileName: 'four-parts.wav' });
    // Hold the PUT to storage, then the final event, to look at each state.
    let releasePut!: () => void;
    const putHeld = new Promise<void>((r) => (releasePut = r));
    await b.page.route((url) => url.pathname.includes('/uploads/'), async (route) => (await putHeld, route.continue()));
    ws.hold(/"status":"DONE"/);

    await b.page.setInputFiles('input[type=file]', file);
    const uploading = b.page.locator('[data-status="AWAITING_UPLOAD"]');
    await uploading.getByText(/Uploading \d+%/).waitFor();
    const id = (await uploading.getAttribute('data-asset-id'))!;
    assert.equal(await colorOf(uploading.locator('.status')), 'rgb(107, 114, 128)');
    await b.screenshot('web-01-uploading');
    releasePut();

    const c = card(b, id);
    await b.page.locator(`[data-asset-id="${id}"][data-status="PROCESSING"]`).waitFor({ timeout: 30_000 });
    await c.getByText(/Processing \d+%/).waitFor();
    assert.equal(await colorOf(c.locator('.status')), 'rgb(37, 99, 235)');
    await b.screenshot('web-02-processing');
    ws.release();
    await b.page.unroute((url) => url.pathname.includes('/uploads/'));

    const slider = c.locator(WAVEFORM);
    await slider.waitFor({ timeout: 30_000 });
    const api = (await t.gql(ASSET, { id, bars: BARS }, token)).data.asset;
    assert.equal(api.status, 'DONE');
    assert.ok(Math.abs(api.duration - SECONDS) < 0.05, `duration ${api.duration}`);
    assert.equal(Number(await slider.getAttribute('aria-valuemax')), api.duration);
    assert.equal(await slider.getAttribute('aria-valuemin'), '0');
    const heights = await slider.locator('.bar').evaluateAll((bars) => bars.map((e) => (e as unknown as { style: { height: string } }).style.height));
    assert.equal(heights.length, BARS);
    assert.deepEqual(heights, (api.waveform as number[]).map((v) => `${v}%`), 'each bar is its value in %');
    // Same object; the signature differs with the second it was signed in.
    assert.equal(new URL((await c.locator('audio').getAttribute('src'))!).pathname, new URL(api.url).pathname);
    assert.equal(await c.locator('audio').getAttribute('preload'), 'metadata');
    await b.screenshot('web-03-done');
    doneId = id;
  });

  it('plays: currentTime advances, and the played bars take the played color', async () => {
    const c = card(b, doneId);
    await c.getByRole('button', { name: /^Play / }).click();
    await c.locator('audio').evaluate(
      (el) =>
        new Promise<void>((resolve, reject) => {
          const a = el as unknown as PageAudio;
          const timer = setTimeout(() => reject(new Error(`stuck at ${a.currentTime}, error ${a.error?.code}`)), 15_000);
          a.addEventListener('timeupdate', () => a.currentTime > 1 && (clearTimeout(timer), resolve()));
        }),
    );
    assert.ok(Number(await c.locator(WAVEFORM).getAttribute('aria-valuenow')) > 0);
    assert.ok((await c.locator('.bar.played').count()) >= 1);
    await b.screenshot('web-04-playing');
    await c.getByRole('button', { name: /^Pause / }).click();
    assert.equal(await c.locator('audio').evaluate((a) => (a as unknown as PageAudio).paused), true);
  });

  it('seeks where the waveform is clicked or dragged, and from the keyboard', async () => {
    const c = card(b, doneId);
    const slider = c.locator(WAVEFORM);
    const duration = Number(await slider.getAttribute('aria-valuemax'));
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.5, y: box.height / 2 } });
    assert.ok(Math.abs((await currentTime(c)) - duration / 2) < duration * 0.02, `${await currentTime(c)} vs ${duration / 2}`);
    assert.ok(Math.abs(Number(await slider.getAttribute('aria-valuenow')) - duration / 2) < duration * 0.02);
    assert.equal(await c.locator('.bar.played').count(), BARS / 2);
    await b.screenshot('web-05-seeked-half');

    const y = box.y + box.height / 2;
    await b.page.mouse.move(box.x + box.width * 0.2, y);
    await b.page.mouse.down();
    await b.page.mouse.move(box.x + box.width * 0.8, y, { steps: 8 });
    await b.page.mouse.up();
    assert.ok(Math.abs((await currentTime(c)) - duration * 0.8) < duration * 0.02, `drag: ${await currentTime(c)}`);

    await slider.focus();
    await b.page.keyboard.press('Home');
    assert.equal(await currentTime(c), 0);
    await b.page.keyboard.press('ArrowRight');
    assert.equal(await currentTime(c), 5);
    await b.page.keyboard.press('ArrowLeft');
    assert.equal(await currentTime(c), 0);
    await b.page.keyboard.press('Space');
    await c.getByRole('button', { name: /^Pause / }).waitFor();
    await b.page.keyboard.press('Enter');
    await c.getByRole('button', { name: /^Play / }).waitFor();
  });

  it('shows a Windows executable named .mp3 as Failed (red) with the service\'s message, and deletes it', async () => {
    await b.page.setInputFiles('input[type=file]', { name: 'totally-a-song.mp3', mimeType: 'audio/mpeg', buffer: peExecutable() });
    const failed = b.page.locator('[data-status="FAILED"][data-asset-id]');
    await failed.waitFor({ timeout: 30_000 });
    const id = (await failed.getAttribute('data-asset-id'))!;
    const api = (await t.gql(ASSET, { id }, token)).data.asset;
    assert.equal(api.error.code, 'REJECTED_FILE_TYPE');
    assert.equal((await failed.locator('.error-message').innerText()).trim(), api.error.message);
    assert.equal(await colorOf(failed.locator('.status')), 'rgb(185, 28, 28)');
    await b.screenshot('web-06-failed');

    await failed.getByRole('button', { name: 'Delete totally-a-song.mp3' }).click();
    await failed.waitFor({ state: 'detached' });
    assert.equal((await t.gql(ASSET, { id }, token)).data.asset, null);
  });

  it('uploads a large file in parts (multipart: one PUT per part, ETags read through CORS)', async () => {
    const file = await makeAudio(dir, { kind: 'wav', seconds: 42, fileName: 'long-take.wav' }); // ~7.4 MB
    const parts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => r.method() === 'PUT' && r.url().includes('partNumber=') && parts.push(r.url());
    b.page.on('request', onRequest);
    await b.page.setInputFiles('input[type=file]', file);
    const c = b.page.locator('[data-asset-id]').filter({ hasText: 'long-take.wav' });
    await c.locator(WAVEFORM).waitFor({ timeout: 60_000 });
    b.page.off('request', onRequest);
    assert.equal(parts.length, 2);
    assert.ok(Math.abs(Number(await c.locator(WAVEFORM).getAttribute('aria-valuemax')) - 42) < 0.05);
  });

  it('records a voice note (MediaRecorder, fake microphone), uploads it and plays it back', async () => {
    await b.page.getByRole('button', { name: /Record a voice note/ }).click();
    await b.page.getByRole('button', { name: 'Stop (0:02)' }).waitFor();
    await b.page.getByRole('button', { name: /^■ Stop/ }).click();
    const c = b.page.locator('[data-asset-id]').filter({ hasText: /voice-note-[\d-]+\.webm/ });
    await c.locator(WAVEFORM).waitFor({ timeout: 30_000 });
    // MediaRecorder's WebM has no duration in its header: the service counts samples.
    const duration = Number(await c.locator(WAVEFORM).getAttribute('aria-valuemax'));
    assert.ok(duration > 1.5 && duration < 5, `duration ${duration}`);
  });

  it('lists an asset uploaded elsewhere, live, and re-queries after the WebSocket comes back', async () => {
    const outside = async (name: string) => {
      const id = await prepareAndPut(t, await makeAudio(dir, { kind: 'wav', seconds: 2, fileName: name }), { contentType: 'audio/wav' }, token);
      assert.equal((await t.gql(COMPLETE, { id }, token)).errors, undefined);
      return id;
    };
    const live = await outside('from-the-cli.wav');
    await card(b, live).locator(WAVEFORM).waitFor({ timeout: 30_000 });

    // The connection drops and stays down while an upload starts and ends.
    ws.refuse = true;
    ws.drop();
    const missed = await outside('while-offline.wav');
    for (let i = 0; (await t.gql(ASSET, { id: missed }, token)).data.asset.status !== 'DONE'; i++) {
      assert.ok(i < 300, 'processing did not end');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await card(b, missed).count(), 0, 'no event reached the page');
    const before = ws.opened;
    ws.refuse = false;
    await card(b, missed).locator(WAVEFORM).waitFor({ timeout: 45_000 });
    assert.ok(ws.opened > before, 'it reconnected');
  });

  it('gets a fresh URL when the player\'s URL fails (an expired link)', async () => {
    let failedOnce = false;
    await b.page.route((url) => url.pathname.endsWith(`/audio/${doneId}.m4a`), (route) =>
      failedOnce ? route.continue() : ((failedOnce = true), route.abort('failed')),
    );
    const asked = b.page.waitForRequest((r) => r.postData()?.includes('query AssetUrl') ?? false, { timeout: 30_000 });
    await b.page.reload();
    await asked;
    const audio = card(b, doneId).locator('audio');
    await audio.evaluate((el) => {
      const a = el as unknown as PageAudio;
      return new Promise<void>((r) => (a.readyState >= 1 ? r() : a.addEventListener('loadedmetadata', () => r(), { once: true })));
    });
    assert.ok(failedOnce);
    assert.equal(await card(b, doneId).locator('.error-text').count(), 0);
  });

  it('stays usable at phone width (375 px): no sideways scroll, thumb-sized controls', async () => {
    await b.page.setViewportSize({ width: 375, height: 812 });
    await card(b, doneId).locator(WAVEFORM).waitFor();
    assert.ok((await b.page.evaluate(() => (globalThis as unknown as PageGlobal).document.documentElement.scrollWidth)) <= 375);
    const wave = (await card(b, doneId).locator(WAVEFORM).boundingBox())!;
    assert.ok(wave.width >= 250, `waveform ${wave.width}px wide`);
    const play = (await card(b, doneId).getByRole('button', { name: /^Play / }).boundingBox())!;
    assert.ok(play.width >= 40 && play.height >= 40);
    await b.screenshot('web-07-phone', { fullPage: true });
    assert.deepEqual(b.errors.filter((e) => e.startsWith('pageerror')), []);
  });
});
