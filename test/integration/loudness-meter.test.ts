// The meter against ffmpeg's own ebur128=peak=true on the same generated PCM
// (contract: integrated within 0.5 LU, range within 1 LU, true peak within 0.5 dB).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoudnessMeter } from '../../src/analysis/loudness.js';
import { ebur128, feed, lavfiPcm } from '../helpers/ebur128.js';

async function compare(graph: string, seconds: number, filters?: string) {
  const pcm = await lavfiPcm(graph, seconds, filters);
  const ours = feed(new LoudnessMeter(), pcm);
  const ref = await ebur128(pcm);
  assert.ok(ours, `measured null, ffmpeg says ${JSON.stringify(ref)}`);
  assert.ok(ref.integrated !== null);
  const msg = `ours ${JSON.stringify(ours)} ffmpeg ${JSON.stringify(ref)}`;
  // ffmpeg prints one decimal: allow its rounding on top of the contract's tolerances.
  assert.ok(Math.abs(ours.integrated - ref.integrated) <= 0.5 + 0.05, msg);
  assert.ok(Math.abs(ours.range - ref.range) <= 1 + 0.05, msg);
  assert.ok(Math.abs(ours.truePeak - ref.truePeak) <= 0.5 + 0.05, msg);
  return { ours, ref };
}

describe('loudness meter against ffmpeg ebur128', () => {
  it('measures a 997 Hz sine at a known level', async () => {
    // sine's amplitude is 1/8 (-18.06 dBFS), then -10 dB: -28.06 dBFS peak, -31.07 LUFS.
    const { ours } = await compare('sine=frequency=997:sample_rate=44100', 10, 'volume=-10dB');
    assert.ok(Math.abs(ours.integrated - -31.07) < 0.1, `${ours.integrated}`);
    assert.ok(Math.abs(ours.truePeak - -28.06) < 0.1, `${ours.truePeak}`);
  });

  it('measures speech-like noise (band-passed pink noise with a 3 Hz syllable rhythm)', async () => {
    await compare('anoisesrc=color=pink:seed=7:sample_rate=44100:amplitude=0.4', 20, 'bandpass=f=1000:width_type=o:w=2,tremolo=f=3:d=0.9');
  });

  it('measures the range of a file that is loud, then 12 dB quieter', async () => {
    const { ours } = await compare('aevalsrc=if(lt(t\\,15)\\,0.5\\,0.125)*sin(2*PI*440*t):s=44100', 30);
    assert.ok(ours.range > 8, `${ours.range}`);
  });

  it('finds an inter-sample peak (a sine at fs/4 shifted by 45 degrees)', async () => {
    // Samples are at 0.354 (-9.0 dBFS); the waveform peaks at 0.5 (-6.0 dBTP). The
    // fade-in keeps ffmpeg's 48 kHz resampler from ringing on a full-scale step.
    const { ours } = await compare('aevalsrc=0.5*sin(PI/2*n+PI/4):s=44100', 5, 'afade=in:d=0.5');
    assert.ok(Math.abs(ours.truePeak - -6.02) < 0.15, `${ours.truePeak}`);
  });

  it('is null for digital silence, where ffmpeg finds nothing above the gate either', async () => {
    const pcm = await lavfiPcm('anullsrc=r=44100:cl=mono', 5);
    assert.equal(feed(new LoudnessMeter(), pcm), null);
    assert.equal((await ebur128(pcm)).integrated, null);
  });
});
