// The media plan's parts for issue 20: a measuring decode with no outputs
// but the PCM, the normalisation gain, and the Opus rendition as an extra output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PlanInput, planRun } from '../../src/media/plan.js';
import { opusOutputArgs } from '../../src/renditions/opus.js';

const base: PlanInput = {
  inputUrl: 'http://127.0.0.1:9000/audio/uploads/abc?X-Amz-Signature=deadbeef', demuxer: 'mp3', etag: null,
  m4aPath: '/tmp/job-1/audio.m4a', maxDurationSeconds: 600, movieTimescale: true, pipelined: false,
};
const graphOf = (args: string[]) => args[args.indexOf('-filter_complex') + 1]!;

describe('planRun for loudness and renditions', () => {
  it('measures with one decode to the PCM only: no AAC, no M4A, no encoder, no gain', () => {
    const plan = planRun({ ...base, analyseOnly: true, gainDb: 3, pipelined: true });
    assert.equal(plan.encoder, null);
    assert.ok(!plan.decoder.includes('aac') && !plan.decoder.includes(base.m4aPath));
    assert.equal(plan.decoder.at(-1), 'pipe:1');
    assert.match(graphOf(plan.decoder), /asplit=1\[p\]$/);
  });

  it('applies the gain once, before the split, so every output and the analysers get it', () => {
    const { decoder } = planRun({ ...base, gainDb: -4.5 });
    assert.match(graphOf(decoder), /channel_layouts=mono,volume=-4\.50dB,asplit=2\[e\]\[p\]$/);
  });

  it('encodes the Opus rendition from the same decode, as a third pad of the split', () => {
    const { decoder } = planRun({ ...base, extraOutputs: [{ args: opusOutputArgs(), path: '/tmp/job-1/audio.ogg' }] });
    assert.equal(decoder.filter((a) => a === '-i').length, 1);
    assert.match(graphOf(decoder), /asplit=3\[e\]\[p\]\[x0\]$/);
    const at = decoder.indexOf('[x0]');
    assert.ok(at > 0 && decoder.indexOf('libopus') > at && decoder.indexOf('/tmp/job-1/audio.ogg') > at);
  });
});
