// The web app against storage the service did not start (S3_ENDPOINT set):
// a separately started s3rver whose bucket has only the operator's CORS rule.
// The browser's PUTs work only because the service merged its rule in at
// start-up. Then each kind of file a phone or browser produces is uploaded
// through the file input and played.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import type { CORSRule } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { READ_RULE_ID, UPLOAD_RULE_ID } from '../../src/storage/bucket-cors.js';
import { makeAudio } from '../helpers/fixtures.js';
import { ASSET, serviceEnv, startTestApp, type TestApp } from '../helpers/app.js';
import { testDatabase } from '../helpers/services.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';
import { type ExternalS3, startExternalS3 } from './external-s3.js';

const WAVEFORM = '[role="slider"][aria-label*="waveform"]';
const OPERATOR_RULE: CORSRule = { ID: 'operator-cdn', AllowedOrigins: ['https://cdn.example.net'], AllowedMethods: ['GET'], ExposeHeaders: ['X-Operator'] };

/** WebM/Opus as MediaRecorder writes it: a live stream, so no duration, no cues, unknown sizes. */
async function mediaRecorderWebm(dir: string, seconds: number): Promise<string> {
  const out = path.join(dir, 'voice-note.webm');
  const { path: ffmpeg } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  await new Promise<void>((resolve, reject) =>
    execFile(
      ffmpeg,
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${seconds}`,
        '-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', '-live', '1', '-cluster_time_limit', '1000', out],
      (e, _o, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve()),
    ),
  );
  return out;
}

describe('the web app against separately started storage', { skip: skipWithoutChromium }, () => {
  let s3: ExternalS3;
  let t: TestApp;
  let b: Browser;
  let dir: string;
  let token: string;

  before(async () => {
    s3 = await startExternalS3([OPERATOR_RULE]);
    t = await startTestApp({ s3 });
    dir = await mkdtemp(path.join(tmpdir(), 'browser-external-'));
    token = await t.token('phone-user');
    b = await launch();
    await b.page.goto(`${t.app.url}/#token=${token}`);
    await b.page.getByText('No audio yet').waitFor();
  });
  after(async () => {
    await b?.close();
    await t?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("merges the app's CORS rules into the bucket's at start-up and keeps the operator's rule", async () => {
    const rules = await s3.rules();
    assert.deepEqual(rules.map((r) => r.ID), [UPLOAD_RULE_ID, OPERATOR_RULE.ID, READ_RULE_ID]);
    assert.deepEqual(rules[1]!.AllowedOrigins, OPERATOR_RULE.AllowedOrigins);
    assert.deepEqual(rules[1]!.ExposeHeaders, OPERATOR_RULE.ExposeHeaders);
    assert.ok(rules[0]!.AllowedOrigins!.includes(t.app.url), `${t.app.url} in ${rules[0]!.AllowedOrigins}`);
  });

  it('uploads Ogg/Opus, MediaRecorder WebM/Opus, M4A, MP3 and WAV from the file input, and plays each', async () => {
    const files = [
      await makeAudio(dir, { kind: 'ogg-opus', seconds: 3, fileName: 'android-voice.ogg' }),
      await mediaRecorderWebm(dir, 3),
      await makeAudio(dir, { kind: 'm4a-moov-end', seconds: 3, fileName: 'iphone-memo.m4a' }),
      await makeAudio(dir, { kind: 'mp3', seconds: 3, fileName: 'podcast-clip.mp3' }),
      await makeAudio(dir, { kind: 'wav', seconds: 3, fileName: 'recorder.wav' }),
    ];
    const putStatuses: number[] = [];
    b.page.on('response', (r) => r.request().method() === 'PUT' && putStatuses.push(r.status()));
    await b.page.setInputFiles('input[type=file]', files);
    for (const file of files) {
      const name = path.basename(file);
      const c = b.page.locator('[data-asset-id]').filter({ hasText: name });
      await c.locator(WAVEFORM).waitFor({ timeout: 90_000 });
      const id = (await c.getAttribute('data-asset-id'))!;
      const api = (await t.gql(ASSET, { id }, token)).data.asset;
      assert.equal(api.status, 'DONE', name);
      assert.ok(Math.abs(api.duration - 3) < 0.1, `${name}: duration ${api.duration}`);
      assert.equal(new URL((await c.locator('audio').getAttribute('src'))!).pathname, new URL(api.url).pathname, name);
      assert.equal(Number(await c.locator(WAVEFORM).getAttribute('aria-valuemax')), api.duration, name);
    }
    assert.deepEqual(putStatuses, [200, 200, 200, 200, 200], 'one direct PUT per file, each allowed by CORS');
    assert.deepEqual(b.errors, []);
    await b.screenshot('web-external-storage');
  });
});

describe('storage that refuses the CORS API', () => {
  for (const code of ['NotImplemented', 'AccessDenied'] as const) {
    it(`(${code}) logs the exact rule and MinIO setting to add, and /healthz stays 200`, async () => {
      const s3 = await startExternalS3();
      s3.refuseCorsApi(code);
      const db = await testDatabase();
      const lines: string[] = [];
      const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
      const config = parseConfig({
        NODE_ENV: 'test', PORT: '0', ...serviceEnv(db, s3, tmpdir()), CORS_ALLOWED_ORIGINS: 'https://app.example.com', LOG_LEVEL: 'warn',
      });
      const app = await startApp(config, 'api', pino({ level: 'warn' }, sink));
      try {
        const health = await fetch(`${app.url}/healthz`);
        assert.equal(health.status, 200);
        const warning = lines.map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg.includes('CORS'));
        assert.ok(warning, lines.join('\n'));
        assert.match(warning.msg, new RegExp(code));
        assert.match(warning.msg, new RegExp(`aws s3api put-bucket-cors --bucket ${s3.bucket} --cors-configuration '\\{"CORSRules"`));
        assert.match(warning.msg, /MINIO_API_CORS_ALLOW_ORIGIN=[^ ]*https:\/\/app\.example\.com/);
        assert.match(warning.msg, new RegExp(`MINIO_API_CORS_ALLOW_ORIGIN=[^ ]*${app.url.replace(/[.]/g, '\\.')}`));
      } finally {
        await app.stop({ graceMs: 1000 });
        await db.drop();
        await s3.stop();
      }
    });
  }
});
