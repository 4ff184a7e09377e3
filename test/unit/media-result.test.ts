import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AssetErrorCode } from '../../src/domain/asset-status.js';
import { decodeJob, encodeJob } from '../../src/jobs/queue.js';
import { id3v2Size } from '../../src/media/gate.js';
import { flacDurationSeconds, mp3DurationSeconds } from '../../src/media/header-duration.js';
import { TOO_LONG_TOLERANCE_SECONDS, isTooLong } from '../../src/media/result.js';
import type { FfmpegResult } from '../../src/media/ffmpeg-runner.js';
import { judge } from '../../src/media/run.js';
import { makeAudio } from '../helpers/fixtures.js';

const ffmpeg: FfmpegResult = { exitCode: 0, signal: null, stalled: false, aborted: false, limitHit: false, inputFailed: false, stderrTail: '', sandbox: { kind: 'bwrap', prlimit: true, nice: true } };

describe('judging a media run from exit status, our own counts and the input line', () => {
  it('is done only when ffmpeg exited 0 and audio was decoded', () => {
    assert.equal(judge(ffmpeg, 44_100), null);
    assert.equal(judge(ffmpeg, 0)?.code, AssetErrorCode.UNREADABLE_AUDIO);
  });

  it('blames the file for a failed exit, a stall and our limits; retries a stop and an outside signal', () => {
    const cases: [Partial<FfmpegResult>, AssetErrorCode, boolean][] = [
      [{ exitCode: 1 }, AssetErrorCode.UNREADABLE_AUDIO, false],
      [{ exitCode: null, stalled: true, signal: 'SIGKILL' }, AssetErrorCode.UNREADABLE_AUDIO, false],
      [{ exitCode: null, limitHit: true, signal: 'SIGXCPU' }, AssetErrorCode.UNREADABLE_AUDIO, false],
      [{ exitCode: null, aborted: true, signal: 'SIGKILL' }, AssetErrorCode.INTERNAL, true],
      [{ exitCode: null, signal: 'SIGTERM' }, AssetErrorCode.INTERNAL, true],
      [{ exitCode: 1, inputFailed: true }, AssetErrorCode.INTERNAL, true],
      // An MP3 (no -xerror) whose read died: ffmpeg exits 0 with part of the audio.
      [{ exitCode: 0, inputFailed: true }, AssetErrorCode.INTERNAL, true],
      // Our limit speaks first: a file that exhausts it is not excused by the read that died with it.
      [{ exitCode: null, limitHit: true, signal: 'SIGXCPU', inputFailed: true }, AssetErrorCode.UNREADABLE_AUDIO, false],
    ];
    for (const [over, code, retryable] of cases) {
      const result = judge({ ...ffmpeg, ...over }, 100);
      assert.deepEqual([result?.code, result?.retryable], [code, retryable], JSON.stringify(over));
    }
  });

  it('never reads the logged tail: storage errors in it change nothing', () => {
    const tail = 'Server returned 5XX Server Error\nConnection refused\nreceived signal 24\nCannot allocate memory';
    assert.equal(judge({ ...ffmpeg, stderrTail: tail }, 44_100), null);
    assert.equal(judge({ ...ffmpeg, exitCode: 1, stderrTail: tail }, 0)?.retryable, false);
  });
});

describe('the TOO_LONG rule', () => {
  it('allows the limit plus one tolerance, and nothing past it', () => {
    assert.equal(isTooLong(600, 600), false);
    assert.equal(isTooLong(600 + TOO_LONG_TOLERANCE_SECONDS, 600), false);
    assert.equal(isTooLong(600 + TOO_LONG_TOLERANCE_SECONDS + 0.01, 600), true);
  });
});

describe('the job payload', () => {
  const id = '0190a6f2-1c3b-7d4e-8f5a-6b7c8d9e0f1a';
  it('round-trips version 2 with its ETag', () => {
    assert.deepEqual(decodeJob(JSON.parse(JSON.stringify(encodeJob({ assetId: id, etag: '"abc"' })))), { assetId: id, etag: '"abc"' });
  });

  it('still reads a version-1 payload of the previous release, the ETag to be taken at start', () => {
    assert.deepEqual(decodeJob({ assetId: id }), { assetId: id, etag: null });
  });

  it('refuses payloads no version wrote', () => {
    for (const data of [null, 'x', { assetId: 'nope' }, { v: 3, assetId: id }, { v: 2, assetId: id, etag: 5 }]) {
      assert.equal(decodeJob(data), null, JSON.stringify(data));
    }
  });
});

describe('lengths stated in binary headers', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'header-duration-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the FLAC STREAMINFO sample count', async () => {
    const file = await makeAudio(dir, { kind: 'flac', seconds: 3 });
    const seconds = flacDurationSeconds(await readFile(file));
    assert.ok(seconds !== null && Math.abs(seconds - 3) < 0.01, String(seconds));
  });

  it('reads the frame count of an MP3 Info frame, and nothing from a bare frame', async () => {
    const file = await makeAudio(dir, { kind: 'mp3', seconds: 5 });
    const bytes = await readFile(file);
    const seconds = mp3DurationSeconds(bytes.subarray(id3v2Size(bytes))); // the gate hands over the bytes after the tag
    assert.ok(seconds !== null && Math.abs(seconds - 5) < TOO_LONG_TOLERANCE_SECONDS, String(seconds));
    assert.equal(mp3DurationSeconds(Buffer.from([0xff, 0xfb, 0x90, 0x64, ...new Array(60).fill(0)])), null);
    assert.equal(flacDurationSeconds(Buffer.from('fLaC')), null);
  });
});
