import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_USAGE, quotaRefusal, usageView } from '../../src/domain/quota.js';

const NOW = new Date('2026-12-06T12:00:00Z');
const limits = { storedBytesPerUser: 1000, audioSecondsPerDay: 60 };

describe('quota rules', () => {
  it('counts the new upload against the stored bytes, up to the limit inclusive', () => {
    const usage = { storedBytes: 600, audioSeconds: 0, audioDay: '2026-12-06' };
    assert.equal(quotaRefusal(usage, limits, 400, NOW), null);
    const refused = quotaRefusal(usage, limits, 401, NOW)!;
    assert.equal(refused.code, 'QUOTA_EXCEEDED');
    assert.match(refused.message, /400 of your 1000 bytes are left/);
    assert.deepEqual(refused.details, { quota: 'STORED_BYTES', limit: 1000, remaining: 400 });
  });

  it("refuses once today's audio seconds reach the limit, and forgets earlier days", () => {
    const today = { storedBytes: 0, audioSeconds: 60, audioDay: '2026-12-06' };
    assert.match(quotaRefusal(today, limits, 1, NOW)!.message, /60 of your 60 seconds .* 0 left/);
    assert.equal(quotaRefusal({ ...today, audioSeconds: 59.9 }, limits, 1, NOW), null);
    assert.equal(quotaRefusal({ ...today, audioDay: '2026-12-05' }, limits, 1, NOW), null);
  });

  it('has no limit at 0, and shows a missing limit as null', () => {
    const none = { storedBytesPerUser: 0, audioSecondsPerDay: 0 };
    assert.equal(quotaRefusal({ storedBytes: 1e12, audioSeconds: 1e9, audioDay: '2026-12-06' }, none, 1e9, NOW), null);
    assert.deepEqual(usageView(NO_USAGE, none, NOW), { storedBytes: 0, audioSecondsToday: 0, maxStoredBytes: null, maxAudioSecondsPerDay: null });
    assert.deepEqual(usageView({ storedBytes: 5, audioSeconds: 7, audioDay: '2026-12-05' }, limits, NOW), {
      storedBytes: 5, audioSecondsToday: 0, maxStoredBytes: 1000, maxAudioSecondsPerDay: 60,
    });
  });
});
