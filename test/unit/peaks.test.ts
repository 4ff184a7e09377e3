import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeakReducer, decodeEnvelope, encodeEnvelope, waveformBars, type Envelope } from '../../src/analysis/peaks.js';
import { createPcmConsumer } from '../../src/analysis/pcm.js';

const RUNS = { numRuns: 200 };

/** Small arbitrary signals, plus long pseudo-random ones (up to 60k samples) so merges happen. */
const signal = fc.oneof(
  fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 64 }).map((v) => Int16Array.from(v)),
  fc
    .record({ length: fc.nat(60_000), seed: fc.nat(), amplitude: fc.constantFrom(0, 1, 300, 32767, 32768) })
    .map(({ length, seed, amplitude }) => {
      let x = seed | 1;
      return Int16Array.from({ length }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5; // xorshift32
        return Math.max(-32768, Math.min(32767, Math.round(((x >>> 0) / 2 ** 32 - 0.5) * 2 * amplitude)));
      });
    }),
);

/** n samples of a sine whose peak is exactly `amplitude` (a whole number of 8-sample periods hits sin = 1). */
function sine(n: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * i) / 8)));
}

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function reduce(samples: Int16Array, capacity?: number): Envelope {
  const r = new PeakReducer({ capacity });
  r.push(samples);
  return r.result();
}

function asBytes(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

describe('PeakReducer', () => {
  it('keeps one bucket per sample until the capacity is reached', () => {
    const e = reduce(Int16Array.of(0, 5, -7, 32767));
    assert.equal(e.samplesPerBucket, 1);
    assert.equal(e.sampleCount, 4);
    assert.deepEqual([...e.peaks], [0, 5, 7, 32767]);
  });

  it('clamps negative full scale (-32768) to 32767', () => {
    assert.deepEqual([...reduce(Int16Array.of(-32768, -1)).peaks], [32767, 1]);
  });

  it('merges neighbours pairwise when full and includes the last partial bucket', () => {
    // 8192 + 3 samples: one merge (2 per bucket), then 3 more samples -> 4096 full buckets + 2 (one partial).
    const samples = Int16Array.from({ length: 8195 }, (_, i) => i % 1000);
    const e = reduce(samples);
    assert.equal(e.samplesPerBucket, 2);
    assert.equal(e.sampleCount, 8195);
    assert.equal(e.peaks.length, 4098);
    assert.equal(e.peaks[0], 1);
    assert.equal(e.peaks[4096], (8193 % 1000));
    assert.equal(e.peaks[4097], 8194 % 1000, 'the partial last bucket holds its one sample');
  });

  it('gives an empty envelope before any sample', () => {
    const r = new PeakReducer();
    assert.equal(r.sampleCount, 0);
    assert.deepEqual(r.result(), { samplesPerBucket: 1, sampleCount: 0, peaks: new Uint16Array(0) });
  });

  it('refuses a capacity that is odd or below 8192', () => {
    for (const capacity of [8191, 4096, 8193.5, 0]) assert.throws(() => new PeakReducer({ capacity }), RangeError);
    assert.doesNotThrow(() => new PeakReducer({ capacity: 10_000 }));
  });

  it('stays within capacity and at least 4096 buckets over 50 million samples, keeping the global max', () => {
    const r = new PeakReducer();
    const chunk = new Int16Array(65_536).fill(100);
    const total = 50_000_000;
    const spikeChunk = 473 * chunk.length;
    for (let sent = 0; sent < total; sent += chunk.length) {
      chunk[7] = sent === spikeChunk ? -32000 : 100;
      r.push(chunk.subarray(0, Math.min(chunk.length, total - sent)));
    }
    const e = r.result();
    assert.equal(e.sampleCount, total);
    assert.ok(e.peaks.length <= 8192 && e.peaks.length >= 4096, `${e.peaks.length} buckets`);
    assert.equal(e.peaks.length, Math.ceil(total / e.samplesPerBucket));
    assert.equal(Math.max(...e.peaks), 32000);
    assert.equal(e.peaks[Math.floor((spikeChunk + 7) / e.samplesPerBucket)], 32000);
  });

  it('equals a direct per-bucket max at its final bucket size (property)', () => {
    fc.assert(
      fc.property(signal, (samples) => {
        const e = reduce(samples);
        const direct = new Uint16Array(Math.ceil(samples.length / e.samplesPerBucket));
        samples.forEach((s, i) => {
          const k = Math.floor(i / e.samplesPerBucket);
          direct[k] = Math.max(direct[k]!, Math.min(32767, Math.abs(s)));
        });
        assert.deepEqual(e.peaks, direct);
        assert.ok(samples.length < 4096 || e.peaks.length >= 4096);
      }),
      RUNS,
    );
  });

  it('gives the same envelope whatever the chunking (property)', () => {
    fc.assert(
      fc.property(signal, fc.array(fc.nat(9000), { maxLength: 20 }), (all, cuts) => {
        const r = new PeakReducer();
        let at = 0;
        for (const c of cuts) {
          const end = Math.min(all.length, at + c);
          r.push(all.subarray(at, end));
          at = end;
        }
        r.push(all.subarray(at));
        assert.deepEqual(r.result(), reduce(all));
      }),
      RUNS,
    );
  });
});

describe('createPcmConsumer', () => {
  it('gives the same envelope for chunks cut at odd byte offsets as for one chunk', () => {
    const samples = sine(30_001, 12_345);
    samples[777] = -32768;
    const bytes = asBytes(samples);
    const whole = new PeakReducer();
    createPcmConsumer(whole)(bytes);
    const pieces = new PeakReducer();
    const consume = createPcmConsumer(pieces);
    // An odd-aligned copy so Int16Array views over it would be illegal without copying.
    const odd = Buffer.alloc(bytes.length + 1).subarray(1);
    bytes.copy(odd);
    for (let at = 0, step = 1; at < odd.length; at += step, step = (step * 7 + 3) % 1001) consume(odd.subarray(at, at + step));
    assert.equal(consume.hasDanglingByte, false);
    assert.deepEqual(pieces.result(), whole.result());
    assert.deepEqual(whole.result(), reduce(samples));
  });

  it('reports a dangling byte when the stream ends mid-sample', () => {
    const consume = createPcmConsumer(new PeakReducer());
    consume(Buffer.from([1, 2, 3]));
    assert.equal(consume.hasDanglingByte, true);
  });
});

describe('waveformBars', () => {
  it('scales a sine of amplitude 16384 to 50 when the loudest bar peaks at 32767', () => {
    const e = reduce(concat(sine(8000, 32767), sine(8000, 16384)));
    assert.deepEqual(waveformBars(e, 2), [100, 50]);
  });

  it('draws silence / tone / silence / half tone as [0, 100, 0, 50] shapes for 4 and 64 bars', () => {
    // 4 x 2^18 samples: merged down to 128 samples a bucket, quarters on bucket edges (no snapping).
    const q = 2 ** 18;
    const e = reduce(concat(new Int16Array(q), sine(q, 30_000), new Int16Array(q), sine(q, 15_000)));
    assert.ok(e.samplesPerBucket > 1);
    assert.deepEqual(waveformBars(e, 4), [0, 100, 0, 50]);
    const bars = waveformBars(e, 64);
    assert.deepEqual(bars, [...Array(16).fill(0), ...Array(16).fill(100), ...Array(16).fill(0), ...Array(16).fill(50)]);
  });

  it('gives all zeros for digital silence and for an empty envelope', () => {
    assert.deepEqual(waveformBars(reduce(new Int16Array(50_000)), 5), [0, 0, 0, 0, 0]);
    assert.deepEqual(waveformBars(new PeakReducer().result(), 3), [0, 0, 0]);
  });

  it('lets each bar take the bucket at its midpoint when there are more bars than buckets', () => {
    assert.deepEqual(waveformBars(reduce(Int16Array.of(10, 20)), 4), [50, 50, 100, 100]);
  });

  it('refuses bars outside 1..1024 or not integers', () => {
    const e = reduce(sine(100, 100));
    for (const bars of [0, -1, 1025, 2.5, Number.NaN]) assert.throws(() => waveformBars(e, bars), RangeError);
    assert.equal(waveformBars(e, 1024).length, 1024);
  });

  it('always gives `bars` integers in 0..100 with a max of 100 unless silent (property)', () => {
    fc.assert(
      fc.property(signal, fc.integer({ min: 1, max: 1024 }), (samples, n) => {
        const bars = waveformBars(reduce(samples), n);
        assert.equal(bars.length, n);
        assert.ok(bars.every((b) => Number.isInteger(b) && b >= 0 && b <= 100));
        const silent = samples.every((s) => s === 0);
        assert.equal(Math.max(...bars), silent ? 0 : 100);
      }),
      RUNS,
    );
  });
});

describe('envelope encoding', () => {
  it('round-trips through encode and decode', () => {
    const e = reduce(concat(sine(20_000, 32767), Int16Array.of(-32768, 3)));
    const back = decodeEnvelope(encodeEnvelope(e));
    assert.deepEqual(back, e);
  });

  it('round-trips any reduced envelope (property)', () => {
    fc.assert(
      fc.property(signal, (samples) => {
        const e = reduce(samples);
        assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), e);
      }),
      RUNS,
    );
  });

  it('rejects malformed buffers with a clear error', () => {
    const good = encodeEnvelope(reduce(sine(100, 1000)));
    const bad = (mutate: (b: Buffer) => Buffer, message: RegExp) =>
      assert.throws(() => decodeEnvelope(mutate(Buffer.from(good))), (err: Error) => /malformed waveform envelope/.test(err.message) && message.test(err.message));
    bad((b) => b.subarray(0, 10), /shorter than/);
    bad((b) => (b.writeUInt8(9, 0), b), /unknown version 9/);
    bad((b) => (b.writeUInt8(1, 2), b), /reserved/);
    bad((b) => b.subarray(0, b.length - 1), /odd number/);
    bad((b) => b.subarray(0, b.length - 2), /expected 100 peaks/);
    bad((b) => (b.writeUInt32LE(0, 4), b), /samplesPerBucket/);
    bad((b) => (b.writeBigUInt64LE(2n ** 60n, 8), b), /safe integer/);
    bad((b) => (b.writeUInt16LE(40_000, 20), b), /above 32767/);
  });

  it('refuses to encode an inconsistent envelope', () => {
    assert.throws(() => encodeEnvelope({ samplesPerBucket: 2, sampleCount: 5, peaks: new Uint16Array(2) }), RangeError);
  });
});
