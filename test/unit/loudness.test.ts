import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoudnessMeter, kWeighting } from '../../src/analysis/loudness.js';
import { integratedLoudness, loudnessRange, windowPowers } from '../../src/analysis/loudness-gating.js';
import { TruePeakMeter } from '../../src/analysis/true-peak.js';
import { feed } from '../helpers/ebur128.js';

/** Mean square of a level in LUFS (the inverse of lufs()). */
const power = (l: number) => 10 ** ((l + 0.691) / 10);
const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);

describe('K-weighting', () => {
  it('gives the coefficients BS.1770-4 publishes for 48 kHz', () => {
    const [shelf, hp] = kWeighting(48_000);
    close(shelf.b0, 1.53512485958697, 1e-9);
    close(shelf.b1, -2.69169618940638, 1e-9);
    close(shelf.b2, 1.19839281085285, 1e-9);
    close(shelf.a1, -1.69065929318241, 1e-9);
    close(shelf.a2, 0.73248077421585, 1e-9);
    close(hp.a1, -1.99004745483398, 1e-9);
    close(hp.a2, 0.99007225036621, 1e-9);
  });
});

describe('gating', () => {
  it('averages windows of consecutive sub-blocks', () => {
    assert.deepEqual([...windowPowers([1, 2, 3, 4, 5], 5, 4)], [2.5, 3.5]);
    assert.equal(windowPowers([1, 2], 2, 4).length, 0);
  });

  it('drops blocks below the absolute gate and 10 LU below the mean of the rest', () => {
    const blocks = Float64Array.from([power(-20), power(-20), power(-35), power(-80)]);
    close(integratedLoudness(blocks)!, -20, 1e-9);
    assert.equal(integratedLoudness(Float64Array.from([power(-75), 0])), null);
  });

  it('takes the range between the 10th and 95th percentiles of gated short-term levels', () => {
    const levels = Array.from({ length: 101 }, (_, i) => -30 + i / 10); // -30 .. -20 LUFS
    const range = loudnessRange(Float64Array.from([...levels, -60, -90].map(power)));
    close(range, 8.5, 1e-9); // 95th (-20.5) minus 10th (-29): -60 falls to the relative gate, -90 to the absolute
    assert.equal(loudnessRange(new Float64Array(0)), 0);
  });

  it('puts a full-scale 997 Hz sine at -3.01 LUFS', () => {
    const sine = Int16Array.from({ length: 44_100 * 3 }, (_, n) => Math.round(32767 * Math.sin((2 * Math.PI * 997 * n) / 44_100)));
    close(feed(new LoudnessMeter(), sine)!.integrated, -3.01, 0.05);
  });
});

describe('LoudnessMeter', () => {
  const noise = Int16Array.from({ length: 44_100 * 5 }, (_, n) => Math.round(8000 * Math.sin(n * 0.37) * Math.sin(n * 0.0013)));

  it('gives the same figures whatever the chunking', () => {
    const whole = feed(new LoudnessMeter(), noise, noise.length);
    for (const chunk of [1, 7, 4410, 65_536]) assert.deepEqual(feed(new LoudnessMeter(), noise, chunk), whole);
  });

  it('is null for digital silence and for audio shorter than one 400 ms block', () => {
    assert.equal(feed(new LoudnessMeter(), new Int16Array(44_100 * 2)), null);
    assert.equal(feed(new LoudnessMeter(), noise.subarray(0, 17_000)), null);
  });
});

describe('TruePeakMeter', () => {
  it('finds the peak between samples of a sine at fs/4 shifted by 45 degrees', () => {
    const tp = new TruePeakMeter();
    // Samples are +-0.707 of the amplitude; the waveform reaches 1.0 halfway between them.
    tp.push(Int16Array.from({ length: 4410 }, (_, n) => Math.round(16384 * Math.sin((Math.PI / 2) * n + Math.PI / 4))));
    close(tp.dbtp, 20 * Math.log10(0.5), 0.1);
  });

  it('equals a plain 4-phase convolution of every sample (skipping spans is exact)', () => {
    // Loud early, quieter later: most later spans are skipped.
    const signal = Int16Array.from({ length: 30_000 }, (_, n) =>
      Math.round((n < 3000 ? 30_000 : 9000) * Math.sin(n * 0.9) * Math.sin(n * 0.011)));
    signal[20_000] = -32768; // a late peak must still be found
    const meter = new TruePeakMeter();
    for (let at = 0; at < signal.length; at += 777) meter.push(signal.subarray(at, at + 777));
    close(meter.dbtp, 20 * Math.log10(referenceTruePeak(signal) / 32768), 1e-9);
  });
});

/** BS.1770-4 Annex 2 written plainly: every output of every phase, zero history. */
function referenceTruePeak(x: Int16Array): number {
  const h0 = [0.001708984375, 0.010986328125, -0.0196533203125, 0.033203125, -0.0594482421875, 0.1373291015625,
    0.97216796875, -0.102294921875, 0.047607421875, -0.026611328125, 0.014892578125, -0.00830078125];
  const h1 = [-0.0291748046875, 0.029296875, -0.0517578125, 0.089111328125, -0.16650390625, 0.465087890625,
    0.77978515625, -0.2003173828125, 0.1015625, -0.0582275390625, 0.0330810546875, -0.0189208984375];
  const phases = [h0, h1, [...h1].reverse(), [...h0].reverse()];
  let peak = 0;
  for (let n = 0; n < x.length; n++) {
    peak = Math.max(peak, Math.abs(x[n]!));
    for (const h of phases) {
      let y = 0;
      for (let k = 0; k < 12; k++) y += h[k]! * (n - k >= 0 ? x[n - k]! : 0);
      peak = Math.max(peak, Math.abs(y));
    }
  }
  return peak;
}
