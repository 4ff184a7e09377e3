import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetErrorCode } from '../../src/domain/asset-status.js';
import { type AttemptEvent, classifyFfmpegFailure, decide } from '../../src/domain/job-outcome.js';

const first = { retryCount: 0, retryLimit: 3 };
const last = { retryCount: 3, retryLimit: 3 };
const run = (over: Partial<Parameters<typeof classifyFfmpegFailure>[0]>) =>
  classifyFfmpegFailure({ exitCode: 1, signal: null, stalled: false, limitHit: false, stderrTail: '', ...over });

describe('job outcome classification', () => {
  const fileFaults: [AttemptEvent['kind'], AssetErrorCode][] = [
    ['rejected-type', AssetErrorCode.REJECTED_FILE_TYPE],
    ['unreadable', AssetErrorCode.UNREADABLE_AUDIO],
    ['too-long', AssetErrorCode.TOO_LONG],
    ['timeout', AssetErrorCode.TIMEOUT],
    ['stalled', AssetErrorCode.UNREADABLE_AUDIO],
    ['limit-hit', AssetErrorCode.UNREADABLE_AUDIO],
  ];
  for (const [kind, code] of fileFaults) {
    it(`fails ${kind} at once with ${code}, even on the first attempt`, () => {
      assert.deepEqual(decide({ kind } as AttemptEvent, first), { action: 'fail', code });
    });
  }

  for (const kind of ['storage-unavailable', 'killed-by-signal', 'aborted', 'internal'] as const) {
    it(`retries ${kind} while attempts remain, then fails INTERNAL`, () => {
      assert.deepEqual(decide({ kind }, first), { action: 'retry' });
      assert.deepEqual(decide({ kind }, last), { action: 'fail', code: AssetErrorCode.INTERNAL });
    });
  }

  it('blames the storage, not the file, for 5xx answers and refused connections', () => {
    assert.equal(run({ stderrTail: '[http @ 0x1] HTTP error 503 Service Unavailable\nServer returned 5XX Server Error reply' }).kind, 'storage-unavailable');
    assert.equal(run({ stderrTail: 'Connection to tcp://127.0.0.1:9 failed: Connection refused' }).kind, 'storage-unavailable');
    assert.equal(run({ stalled: true, stderrTail: 'Connection timed out' }).kind, 'storage-unavailable');
  });

  it('blames the file for a stall while the storage answers, and for hitting our limits', () => {
    assert.equal(run({ stalled: true, signal: 'SIGKILL' }).kind, 'stalled');
    assert.equal(run({ limitHit: true, signal: 'SIGXCPU' }).kind, 'limit-hit');
  });

  it('treats an outside signal as a crash to retry, and a decoder error as unreadable', () => {
    assert.equal(run({ exitCode: null, signal: 'SIGTERM' }).kind, 'killed-by-signal');
    assert.equal(run({ stderrTail: 'Invalid data found when processing input' }).kind, 'unreadable');
  });
});
