// `npm run upload`, as a user runs it: the compiled CLI in its own process
// against a real service, judged by its output and its exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { makeAudio } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const CLI = fileURLToPath(new URL('../../src/cli/upload.js', import.meta.url));
const MIB = 1024 * 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function upload(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    // Not inheriting AUTH_TOKEN/API_URL from whoever runs the suite.
    const { AUTH_TOKEN: _t, API_URL: _u, ...base } = process.env;
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run upload', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await startTestApp({
      env: {
        // A low multipart threshold, so a 7 MB file takes the multipart path.
        MULTIPART_THRESHOLD_BYTES: String(5 * MIB),
        MULTIPART_PART_BYTES: String(5 * MIB),
      },
      // The development secret, so /dev/token exists as under `npm start`.
      developmentAuth: true,
    });
    dir = await mkdtemp(path.join(tmpdir(), 'cli-test-'));
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads an MP3, prints the events, the URL, the duration and N waveform bars, and exits 0', async () => {
    const file = await makeAudio(dir, { kind: 'mp3', seconds: 2 });
    const run = await upload([file, '--bars', '8'], { API_URL: t.app.url, AUTH_TOKEN: await t.token('cli-user') });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.split('\n');
    const statuses = lines.map((l) => l.split(' ')[0]).filter((s) => ['QUEUED', 'PROCESSING', 'DONE', 'FAILED'].includes(s!));
    assert.equal(statuses.at(-1), 'DONE', run.stdout);
    assert.ok(statuses.includes('QUEUED') || statuses.includes('PROCESSING'), run.stdout);
    assert.match(run.stdout, /^url: http:\/\/\S+\.m4a\?\S+$/m);
    const duration = Number(/^duration: ([\d.]+) s$/m.exec(run.stdout)?.[1]);
    assert.ok(Math.abs(duration - 2) < 0.05, `duration ${duration}`);
    const bars = JSON.parse(/^waveform \(8 bars\): (\[.*\])$/m.exec(run.stdout)?.[1] ?? 'null') as number[];
    assert.equal(bars.length, 8);
    assert.ok(bars.every((b) => Number.isInteger(b) && b >= 0 && b <= 100) && bars.includes(100), JSON.stringify(bars));
    // It is the token's user who owns it.
    const listed = await t.gql('{ assets { nodes { status } } }', {}, await t.token('cli-user'));
    assert.deepEqual(listed.data, { assets: { nodes: [{ status: 'DONE' }] } });
  });

  it('uploads a large file in parts (multipart) with the development token', async () => {
    const file = await makeAudio(dir, { kind: 'wav', seconds: 42 }); // ~7.4 MB: two parts
    const run = await upload([file], { API_URL: t.app.url });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /uploaded part 2\/2/);
    assert.match(run.stdout, /^DONE$/m);
    assert.match(run.stdout, /^duration: 42\.0\d\d s$/m);
    assert.match(run.stdout, /^waveform \(32 bars\): \[/m);
  });

  it('exits non-zero with the reason when the file is an executable named .mp3', async () => {
    const pe = Buffer.alloc(2048);
    pe.write('MZ', 0);
    pe.writeUInt32LE(0x80, 0x3c);
    pe.write('PE\0\0', 0x80, 'binary');
    const file = path.join(dir, 'song.mp3');
    await writeFile(file, pe);
    const run = await upload([file], { API_URL: t.app.url });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^FAILED REJECTED_FILE_TYPE: .+$/m);
    assert.doesNotMatch(run.stdout, /^DONE|^url:/m);
  });

  it('exits 2 with the usage on bad arguments, and with a message when the service is unreachable', async () => {
    const bad = await upload(['--bars', '0', 'x.mp3'], {});
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bars must be an integer in 1\.\.1024/);
    assert.match(bad.stderr, /usage: npm run upload/);
    const file = await makeAudio(dir, { kind: 'wav', seconds: 1, fileName: 'short.wav' });
    const down = await upload([file], { API_URL: 'http://127.0.0.1:9' });
    assert.equal(down.code, 2);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
