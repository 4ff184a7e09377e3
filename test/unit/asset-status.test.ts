import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetStatus as S, IllegalTransitionError, canTransition, isFinal, predecessorsOf, transition } from '../../src/domain/asset-status.js';

describe('asset status machine', () => {
  it('follows the life of an asset: awaiting upload, queued, processing, done', () => {
    let s = S.AWAITING_UPLOAD;
    for (const next of [S.QUEUED, S.PROCESSING, S.DONE]) s = transition(s, next);
    assert.equal(s, S.DONE);
  });

  it('lets a retry keep an asset PROCESSING', () => {
    assert.equal(transition(S.PROCESSING, S.PROCESSING), S.PROCESSING);
  });

  it('refuses to leave DONE or FAILED, or to skip the queue', () => {
    for (const [from, to] of [
      [S.DONE, S.PROCESSING],
      [S.DONE, S.FAILED],
      [S.FAILED, S.QUEUED],
      [S.AWAITING_UPLOAD, S.PROCESSING],
      [S.AWAITING_UPLOAD, S.DONE],
      [S.QUEUED, S.DONE],
      [S.QUEUED, S.AWAITING_UPLOAD],
    ] as const) {
      assert.throws(() => transition(from, to), IllegalTransitionError, `${from} -> ${to}`);
      assert.equal(canTransition(from, to), false);
    }
  });

  it('can fail from every live state', () => {
    for (const s of [S.AWAITING_UPLOAD, S.QUEUED, S.PROCESSING]) assert.equal(transition(s, S.FAILED), S.FAILED);
    assert.deepEqual(predecessorsOf(S.FAILED).sort(), [S.AWAITING_UPLOAD, S.PROCESSING, S.QUEUED].sort());
  });

  it('knows the final states', () => {
    assert.deepEqual(Object.values(S).filter(isFinal).sort(), [S.DONE, S.FAILED]);
    assert.deepEqual(predecessorsOf(S.DONE), [S.PROCESSING]);
  });
});
