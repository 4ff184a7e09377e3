// The player's zoomable waveform in a real Chromium: the first paint fetches
// only the coarsest stored level, zooming in fetches a finer one, nothing is
// decoded in the page, and a click in the zoomed view seeks within it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMPLETE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { makeSwellWav } from '../helpers/waveform-reference.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';

const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const DAT = /\/waveform\/[0-9a-f-]{36}\/(\d+)\.dat/;

describe('the zoomable waveform of a long file', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let b: Browser;
  let dir: string;
  let id: string;
  const fetchedLevels: number[] = [];

  before(async () => {
    t = await startTestApp();
    dir = await mkdtemp(path.join(tmpdir(), 'zoom-fixtures-'));
    const file = path.join(dir, 'swell.wav');
    await makeSwellWav(file, 40); // levels of 256 and 1,024 samples per pixel
    const token = await t.token('zoom-user');
    id = await prepareAndPut(t, file, { contentType: 'audio/wav' }, token);
    await t.gql(COMPLETE, { id }, token);
    for (let i = 0; i < 600; i++) {
      const r = await t.gql(`query($id: ID!) { asset(id: $id) { status } }`, { id }, token);
      if ((r.data as any)?.asset?.status === 'DONE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    b = await launch();
    b.page.on('request', (req) => {
      const m = DAT.exec(new URL(req.url()).pathname);
      if (m) fetchedLevels.push(Number(m[1]));
    });
    await b.page.goto(`${t.app.url}/#token=${token}`);
  });
  after(async () => {
    await b?.close();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('paints from the coarsest level first, fetches a finer one when zoomed in, and seeks where the zoomed view is clicked', async () => {
    const c = b.page.locator(`[data-asset-id="${id}"]`);
    const view = c.getByRole('img', { name: /Zoomed view/ });
    await view.waitFor({ timeout: 30_000 });
    await b.page.waitForFunction(() => (globalThis as any).document.querySelector('.waveform-zoom canvas')?.width > 0);
    const drawn = () =>
      view.evaluate((el) => {
        const canvas = el as any;
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return painted;
      });
    for (let i = 0; i < 50 && (await drawn()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await drawn()) > 1000, 'the view is drawn');
    assert.deepEqual(fetchedLevels, [1024], 'first paint: the coarsest level only');

    await c.getByRole('button', { name: /^Zoom in/ }).click();
    await c.getByRole('button', { name: /^Zoom in/ }).click();
    for (let i = 0; i < 50 && !fetchedLevels.includes(256); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(fetchedLevels, [1024, 256], 'zoomed in: the finest level, once');
    assert.match((await view.getAttribute('aria-label'))!, /0:00 to 0:10/);
    await b.screenshot('waveform-zoom-x4');

    const box = (await view.boundingBox())!;
    await view.click({ position: { x: box.width / 2, y: box.height / 2 } });
    const slider = c.locator(WAVEFORM);
    const duration = Number(await slider.getAttribute('aria-valuemax'));
    const now = Number(await slider.getAttribute('aria-valuenow'));
    assert.ok(Math.abs(now - duration / 8) < 0.5, `clicked the middle of the first quarter: ${now} of ${duration}`);
  });
});
