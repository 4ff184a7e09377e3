// A batch of one key's calls is counted by one statement; `fits` must give
// each call the answer it would have had if counted alone, in arrival order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fits } from '../../src/services/rate-limit.service.js';

describe('fits: which calls of a batch are within the budget', () => {
  it('lets the calls that bring the count up to the limit through, and no more', () => {
    assert.deepEqual(fits(3, 3, 3), [true, true, true]);
    assert.deepEqual(fits(5, 3, 3), [true, false, false]);
    assert.deepEqual(fits(7, 2, 3), [false, false]);
    assert.deepEqual(fits(1, 1, 3), [true]);
  });

  it('answers as one-at-a-time counting would (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 60 }), (before, n, limit) => {
        const serial = Array.from({ length: n }, (_, i) => before + i + 1 <= limit);
        assert.deepEqual(fits(before + n, n, limit), serial);
      }),
    );
  });
});
