import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loudnessFields, planRenditions } from '../../src/renditions/job-renditions.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('planRenditions', () => {
  it('adds the Opus output and its stored file when asked for', () => {
    const plan = planRenditions(ID, ['OPUS_OGG'], '/tmp/job', true);
    assert.deepEqual(plan.skipped, []);
    assert.equal(plan.files.length, 1);
    const [opus] = plan.files;
    assert.equal(opus!.key, `audio/${ID}.ogg`);
    assert.equal(opus!.path, '/tmp/job/audio.ogg');
    assert.equal(opus!.contentType, 'audio/ogg');
    assert.ok(opus!.args.includes('libopus'));
  });

  it('makes nothing extra when nothing is asked for, and skips Opus without libopus', () => {
    assert.deepEqual(planRenditions(ID, [], '/tmp/job', true), { files: [], skipped: [] });
    assert.deepEqual(planRenditions(ID, ['OPUS_OGG'], '/tmp/job', false), { files: [], skipped: ['OPUS_OGG'] });
  });
});

describe('loudnessFields', () => {
  it('rounds to 0.01 and records silence as all null', () => {
    assert.deepEqual(loudnessFields({ integrated: -16.004, range: 3.456, truePeak: -1.0049 }), {
      loudnessIntegrated: -16, loudnessRange: 3.46, loudnessTruePeak: -1,
    });
    assert.deepEqual(loudnessFields(null), { loudnessIntegrated: null, loudnessRange: null, loudnessTruePeak: null });
  });
});
