import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DAT_HEADER_BYTES, WaveformLevelsAnalyser } from '../../src/analysis/waveform-files.js';
import {
  FINEST_SAMPLES_PER_PIXEL,
  MAX_COARSEST_PAIRS,
  type PairSink,
  WaveformLevelsReducer,
  levelPlan,
  toInt8,
} from '../../src/analysis/waveform-levels.js';

/** Collects every level's pairs in memory (the tests' sink). */
function reduce(chunks: Int16Array[]): { levels: { samplesPerPixel: number; length: number }[]; pairs: Map<number, number[]> } {
  const pairs = new Map<number, number[]>();
  const reducer = new WaveformLevelsReducer((spp): PairSink => {
    const list: number[] = [];
    pairs.set(spp, list);
    return { pair: (min, max) => list.push(min, max) };
  });
  for (const c of chunks) reducer.push(c);
  return { levels: reducer.finish(), pairs };
}

/** The reference: each level straight from the PCM, as audiowaveform computes it. */
function referencePairs(pcm: Int16Array, spp: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < pcm.length; start += spp) {
    let min = 32767;
    let max = -32768;
    for (let i = start; i < Math.min(pcm.length, start + spp); i++) {
      min = Math.min(min, pcm[i]!);
      max = Math.max(max, pcm[i]!);
    }
    out.push(Math.trunc(min / 256), Math.trunc(max / 256));
  }
  return out;
}

function noise(n: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = ((x >>> 8) & 0xffff) - 32768;
  }
  return out;
}

describe('waveform levels (pure)', () => {
  it('truncates 16-bit samples toward zero, as C integer division does', () => {
    assert.deepEqual([-32768, -257, -256, -255, -1, 0, 255, 256, 32767].map(toInt8), [-128, -1, -1, 0, 0, 0, 0, 1, 127]);
  });

  it('gives min/max pairs of known PCM, flushing the last partial pair', () => {
    const pcm = new Int16Array(FINEST_SAMPLES_PER_PIXEL * 2 + 3);
    pcm[5] = -1000; // pair 0 min -> -3 (-1000/256 = -3.9)
    pcm[17] = 2000; // pair 0 max -> 7
    pcm[300] = -255; // pair 1: truncates to 0, not -1
    pcm[513] = 32767; // partial pair 2 (3 samples)
    pcm[514] = -32768;
    const { levels, pairs } = reduce([pcm]);
    assert.deepEqual(levels, [{ samplesPerPixel: 256, length: 3 }]);
    assert.deepEqual(pairs.get(256), [-3, 7, 0, 0, -128, 127]);
  });

  it('gives the same pairs whatever the chunking', () => {
    const pcm = noise(256 * 4100 + 77);
    const whole = reduce([pcm]);
    const chunks: Int16Array[] = [];
    for (let i = 0, n = 1; i < pcm.length; i += n, n = (n * 7 + 3) % 5000 || 1) chunks.push(pcm.subarray(i, i + n));
    assert.deepEqual(reduce(chunks), whole);
  });

  it('makes coarser levels x4 down to the first with at most 4,096 pairs, equal to computing them from the PCM', () => {
    const n = 256 * 4 * 4096 + 1000; // finest 16,388 pairs, then 4,097, then 1,025
    const pcm = noise(n, 7);
    const { levels, pairs } = reduce([pcm]);
    assert.deepEqual(levels.map((l) => l.samplesPerPixel), [256, 1024, 4096]);
    assert.deepEqual(levels.map((l) => l.length), [16_388, 4097, 1025]);
    assert.deepEqual(levelPlan(n), [256, 1024, 4096]);
    for (const l of levels) assert.deepEqual(pairs.get(l.samplesPerPixel), referencePairs(pcm, l.samplesPerPixel), `level ${l.samplesPerPixel}`);
  });

  it('level count rule: exactly 4,096 finest pairs is one level, one more sample adds a level', () => {
    assert.deepEqual(levelPlan(256 * MAX_COARSEST_PAIRS), [256]);
    assert.deepEqual(levelPlan(256 * MAX_COARSEST_PAIRS + 1), [256, 1024]);
    assert.deepEqual(levelPlan(0), [256]);
    // A 2-hour file: 1.24 M finest pairs and six levels.
    const twoHours = 7200 * 44_100;
    assert.equal(Math.ceil(twoHours / 256), 1_240_313);
    assert.deepEqual(levelPlan(twoHours), [256, 1024, 4096, 16_384, 65_536, 262_144]);
    assert.deepEqual(reduce([new Int16Array(256 * MAX_COARSEST_PAIRS)]).levels.length, 1);
    assert.deepEqual(reduce([new Int16Array(256 * MAX_COARSEST_PAIRS + 1)]).levels.map((l) => l.length), [4097, 1025]);
  });

  it('gives one empty level for no samples', () => {
    assert.deepEqual(reduce([]).levels, [{ samplesPerPixel: 256, length: 0 }]);
  });
});

describe('waveform level files', () => {
  it('writes each level as .dat v2 and as audiowaveform JSON', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'levels-'));
    try {
      const pcm = noise(256 * 4096 + 600, 3);
      const analyser = new WaveformLevelsAnalyser(dir);
      for (let i = 0; i < pcm.length; i += 4410) analyser.push(pcm.subarray(i, i + 4410));
      const levels = await analyser.finish();
      assert.deepEqual(levels.map((l) => [l.samplesPerPixel, l.length, l.bits]), [[256, 4099, 8], [1024, 1025, 8]]);
      for (const l of levels) {
        const expected = referencePairs(pcm, l.samplesPerPixel);
        const dat = await readFile(l.datPath);
        assert.equal(dat.length, DAT_HEADER_BYTES + 2 * l.length);
        assert.deepEqual(
          [0, 4, 8, 12, 16, 20].map((o) => dat.readInt32LE(o)),
          [2, 1, 44_100, l.samplesPerPixel, l.length, 1],
        );
        assert.deepEqual([...new Int8Array(dat.buffer, dat.byteOffset + DAT_HEADER_BYTES, 2 * l.length)], expected);
        const text = await readFile(l.jsonPath, 'utf8');
        assert.ok(text.startsWith(`{"version":2,"channels":1,"sample_rate":44100,"samples_per_pixel":${l.samplesPerPixel},"bits":8,"length":${l.length},"data":[`));
        assert.deepEqual(JSON.parse(text).data, expected);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
