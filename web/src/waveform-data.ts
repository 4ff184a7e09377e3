// The stored waveform levels (audiowaveform data, `waveformData`) as the zoom
// view reads them: which level a view needs, the .dat of that level fetched
// once, and the min/max of each canvas column. No audio is decoded here.
import { graphql } from './gql';

export const WaveformDataQuery = graphql(`
  query WaveformData($id: ID!) {
    asset(id: $id) { id waveformData { sampleRate samplesPerPixel length bits datUrl } }
  }
`);

/** A level's pairs: min at 2i, max at 2i + 1, -128..127. */
export interface Pairs {
  samplesPerPixel: number;
  sampleRate: number;
  data: Int8Array;
}

/**
 * The coarsest level that still has at least one pair per device pixel for
 * `samplesInView` samples over `pixels` pixels: the least data that draws the
 * view sharply. The whole of a long file at first paint is the coarsest level.
 */
export function chooseLevel<L extends { samplesPerPixel: number }>(levels: readonly L[], samplesInView: number, pixels: number): L {
  const sorted = [...levels].sort((a, b) => a.samplesPerPixel - b.samplesPerPixel);
  const fit = sorted.filter((l) => l.samplesPerPixel <= samplesInView / Math.max(1, pixels));
  return fit.at(-1) ?? sorted[0]!;
}

/** audiowaveform data format version 2, 8-bit, one channel (what the service stores). */
export function parseDat(buf: ArrayBuffer): Pairs {
  const v = new DataView(buf);
  if (buf.byteLength < 24 || v.getInt32(0, true) !== 2) throw new Error('not audiowaveform data version 2');
  if ((v.getUint32(4, true) & 1) !== 1 || v.getInt32(20, true) !== 1) throw new Error('expected 8-bit, one-channel data');
  const length = v.getUint32(16, true);
  return { sampleRate: v.getInt32(8, true), samplesPerPixel: v.getInt32(12, true), data: new Int8Array(buf, 24, Math.min(2 * length, buf.byteLength - 24)) };
}

const fetched = new Map<string, Promise<Pairs>>();

/** One fetch per URL (URLs are stable within their signing window). */
export function fetchPairs(url: string): Promise<Pairs> {
  let p = fetched.get(url);
  if (!p) {
    p = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`waveform data: HTTP ${r.status}`);
      return r.arrayBuffer().then(parseDat);
    });
    p.catch(() => fetched.delete(url));
    fetched.set(url, p);
  }
  return p;
}

const peaks = new WeakMap<Pairs, number>();

/**
 * The loudest value of a level, 1/128..1: the same at every level (each
 * coarser pair is the min of mins and max of maxes), so the view scales the
 * loudest moment to full height at every zoom, as `waveform`'s bars do.
 */
export function loudest(pairs: Pairs): number {
  let peak = peaks.get(pairs);
  if (peak === undefined) {
    let m = 1;
    for (const v of pairs.data) m = Math.max(m, Math.abs(v));
    peaks.set(pairs, (peak = Math.min(128, m) / 128));
  }
  return peak;
}

/** Min and max (-1..1) of each of `columns` columns spanning seconds [start, end). */
export function columns(pairs: Pairs, start: number, end: number, count: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(count);
  const max = new Float32Array(count);
  const perSecond = pairs.sampleRate / pairs.samplesPerPixel;
  const total = pairs.data.length / 2;
  for (let x = 0; x < count; x++) {
    const a = Math.floor((start + ((end - start) * x) / count) * perSecond);
    const b = Math.max(a + 1, Math.floor((start + ((end - start) * (x + 1)) / count) * perSecond));
    let lo = 127;
    let hi = -128;
    for (let i = Math.max(0, a); i < Math.min(total, b); i++) {
      lo = Math.min(lo, pairs.data[2 * i]!);
      hi = Math.max(hi, pairs.data[2 * i + 1]!);
    }
    // wavesurfer.js and peaks.js scale 8-bit data by 128 the same way.
    if (hi >= lo) [min[x], max[x]] = [lo / 128, hi / 128];
  }
  return { min, max };
}
