// `npm run screenshot`: the README's picture of the web app, taken from a real
// service in Chromium: two played files, a failed one, and a large upload
// on its way (bytes, speed, time left). Writes docs/web-app.png.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeAudio } from '../helpers/fixtures.js';
import { startTestApp } from '../helpers/app.js';
import { launch, skipWithoutChromium } from './browser.js';
import { startExternalS3 } from './external-s3.js';

const OUT = fileURLToPath(new URL('../../../docs/web-app.png', import.meta.url));
const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const MIB = 1024 * 1024;

async function main(): Promise<void> {
  if (skipWithoutChromium) throw new Error(skipWithoutChromium);
  const s3 = await startExternalS3();
  const t = await startTestApp({ s3, env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) } });
  const dir = await mkdtemp(path.join(tmpdir(), 'screenshot-'));
  const b = await launch({ width: 760, height: 660 });
  try {
    await b.page.goto(`${t.app.url}/#token=${await t.token('demo')}`);
    await b.page.getByText('No audio yet').waitFor();
    const card = (name: string) => b.page.locator('[data-asset-id]').filter({ hasText: name });

    for (const [kind, name, seconds] of [['sequence', 'interview.wav', 24], ['mp3', 'voice-note.mp3', 6]] as const) {
      await b.page.setInputFiles('input[type=file]', await makeAudio(dir, { kind, seconds, fileName: name }));
      await card(name).locator(WAVEFORM).waitFor({ timeout: 60_000 });
    }
    const slider = card('interview.wav').locator(WAVEFORM);
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.62, y: box.height / 2 } });

    await b.page.setInputFiles('input[type=file]', { name: 'setup.exe.mp3', mimeType: 'audio/mpeg', buffer: Buffer.from('MZ not audio at all') });
    await card('setup.exe.mp3').locator('[data-status="FAILED"], .status-failed').first().waitFor({ timeout: 60_000 });

    // A large upload caught on its way: parts from the fifth on wait at the proxy.
    s3.hold((p) => (p.partNumber ?? 0) >= 5);
    await b.page.setInputFiles('input[type=file]', await makeAudio(dir, { kind: 'wav', seconds: 300, fileName: 'podcast-episode.wav' }));
    await card('podcast-episode.wav').locator('.transfer').getByText(/ left/).waitFor({ timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 1500)); // the speed settles on the parts that got through
    await b.page.mouse.move(0, 0);
    await b.page.screenshot({ path: OUT });
    console.log(`wrote ${path.relative(process.cwd(), OUT)} (${(await stat(OUT)).size} bytes)`);
  } finally {
    s3.release();
    await b.close();
    await t.stop();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
