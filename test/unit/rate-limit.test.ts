// A batch of one key's calls is counted by one statement; `fitsPoints` must
// give each call the answer it would have had if counted alone, in arrival order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fitsPoints } from '../../src/services/rate-limit.service.js';

const ones = (n: number) => Array.from({ length: n }, () => 1);

describe('fitsPoints: which calls of a batch are within the budget', () => {
  it('lets the calls that bring the count up to the limit through, and no more', () => {
    assert.deepEqual(fitsPoints(3, ones(3), 3), [true, true, true]);
    assert.deepEqual(fitsPoints(5, ones(3), 3), [true, false, false]);
    assert.deepEqual(fitsPoints(7, ones(2), 3), [false, false]);
    assert.deepEqual(fitsPoints(1, ones(1), 3), [true]);
  });

  it('weighs each call by its points (a query by its complexity)', () => {
    // 2 before the batch; calls of 5, 1, 10 against a budget of 10: 7 fits, 8 fits, 18 does not.
    assert.deepEqual(fitsPoints(18, [5, 1, 10], 10), [true, true, false]);
  });

  it('answers as one-at-a-time counting would (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 200 }), (before, points, limit) => {
        let total = before;
        const serial = points.map((p) => (total += p) <= limit);
        assert.deepEqual(fitsPoints(before + points.reduce((a, b) => a + b, 0), points, limit), serial);
      }),
    );
  });
});
