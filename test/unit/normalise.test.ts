import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gainFilter, normalisationGainDb } from '../../src/analysis/normalise.js';
import { RenditionFormat, parseProcessingOptions } from '../../src/domain/processing-options.js';
import { ApiError } from '../../src/domain/errors.js';

describe('normalisationGainDb', () => {
  it('brings the integrated loudness to the target when the peak allows', () => {
    assert.equal(normalisationGainDb({ integrated: -24, range: 5, truePeak: -10 }, -16), 8);
    assert.equal(normalisationGainDb({ integrated: -10, range: 5, truePeak: -0.5 }, -16), -6);
  });

  it('stops where the true peak would pass -1 dBTP: no limiter', () => {
    // 0.01 dB kept in hand for the 16-bit rounding of the gained PCM.
    assert.equal(normalisationGainDb({ integrated: -30, range: 5, truePeak: -4 }, -16), 2.99);
    // Already above the ceiling: lowered to it, even though the target is louder.
    assert.equal(normalisationGainDb({ integrated: -20, range: 5, truePeak: 0.5 }, -16), -1.51);
  });

  it('rounds down to 0.01 dB so the ceiling holds after rounding', () => {
    assert.equal(normalisationGainDb({ integrated: -30, range: 0, truePeak: -3.995 }, -16), 2.98);
  });

  it('leaves digital silence alone', () => {
    assert.equal(normalisationGainDb(null, -16), 0);
    assert.equal(gainFilter(0), null);
    assert.equal(gainFilter(-1.5), 'volume=-1.50dB');
  });
});

describe('parseProcessingOptions', () => {
  it('accepts -40..-5 LUFS and no target', () => {
    assert.deepEqual(parseProcessingOptions({ loudnessTarget: -16 }), { loudnessTarget: -16, renditions: [] });
    assert.equal(parseProcessingOptions({ loudnessTarget: -40 }).loudnessTarget, -40);
    assert.equal(parseProcessingOptions({ loudnessTarget: -5 }).loudnessTarget, -5);
    assert.equal(parseProcessingOptions({}).loudnessTarget, null);
  });

  it('refuses targets outside -40..-5 as BAD_USER_INPUT on loudnessTarget', () => {
    for (const t of [-40.01, -4.99, 0, Number.NaN, Infinity]) {
      assert.throws(() => parseProcessingOptions({ loudnessTarget: t }), (e: unknown) =>
        e instanceof ApiError && e.code === 'BAD_USER_INPUT' && e.details['field'] === 'loudnessTarget');
    }
  });

  it('keeps each rendition once and refuses unknown ones', () => {
    assert.deepEqual(parseProcessingOptions({ renditions: ['OPUS_OGG', 'OPUS_OGG'] }).renditions, [RenditionFormat.OPUS_OGG]);
    assert.throws(() => parseProcessingOptions({ renditions: ['MP3'] }), (e: unknown) => e instanceof ApiError && e.code === 'BAD_USER_INPUT');
  });
});
