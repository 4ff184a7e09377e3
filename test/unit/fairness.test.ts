import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLongJob, jobFairness, LANE_PRIORITY, laneOfSize, LONG_JOB_NICE, longJobsPerUser, niceFor, VOICE_NOTE_MAX_BYTES, VOICE_NOTE_NICE, workerSlots } from '../../src/domain/fairness.js';

describe('fair processing rules', () => {
  it('puts files up to 2 MiB in the voice lane, ahead of long files', () => {
    assert.equal(laneOfSize(VOICE_NOTE_MAX_BYTES), 'voice');
    assert.equal(laneOfSize(VOICE_NOTE_MAX_BYTES + 1), 'long');
    assert.ok(LANE_PRIORITY.voice > LANE_PRIORITY.long);
    assert.deepEqual(jobFairness('alice', 300_000), { priority: LANE_PRIORITY.voice, group: { id: 'alice', tier: 'voice' } });
    assert.deepEqual(jobFairness('bob', 50_000_000), { priority: LANE_PRIORITY.long, group: { id: 'bob', tier: 'long' } });
  });

  it('lowers the CPU priority of jobs whose probe finds more than a minute, whatever was declared', () => {
    assert.equal(niceFor(61, 100_000), LONG_JOB_NICE);
    assert.equal(niceFor(59, 50_000_000), VOICE_NOTE_NICE);
    assert.equal(niceFor(null, 50_000_000), LONG_JOB_NICE);
    assert.equal(niceFor(null, 100_000), VOICE_NOTE_NICE);
    assert.ok(LONG_JOB_NICE > VOICE_NOTE_NICE);
  });

  it('calls a job long by the probe when there is one, else by the declared size (its run may split in two)', () => {
    assert.equal(isLongJob(61, 100_000), true);
    assert.equal(isLongJob(60, 50_000_000), false);
    assert.equal(isLongJob(null, VOICE_NOTE_MAX_BYTES + 1), true);
    assert.equal(isLongJob(null, VOICE_NOTE_MAX_BYTES), false);
  });

  it('gives every worker twice as many slots again that only voice notes may take', () => {
    const slots = workerSlots(2);
    assert.deepEqual(slots.map((s) => s.minPriority), [undefined, undefined, ...Array(4).fill(LANE_PRIORITY.voice)]);
  });

  it("caps one user's long files at half the slots, and lets the same user's voice notes use every voice slot beside them", () => {
    assert.deepEqual([1, 2, 3, 4, 8].map(longJobsPerUser), [1, 1, 1, 2, 4]);
    for (const slot of workerSlots(8)) assert.deepEqual(slot.groupConcurrency, { default: 4, tiers: { long: 4, voice: 20 } });
  });
});
