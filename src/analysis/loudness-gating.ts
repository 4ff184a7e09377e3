// The gated statistics of BS.1770-4 (integrated loudness) and EBU Tech 3342
// (loudness range), computed from the mean squares of the K-weighted signal
// over consecutive 100 ms sub-blocks: a 400 ms block is 4 of them, stepping
// one (75% overlap); a 3 s short-term window is 30, stepping one.

export const SUB_BLOCKS_PER_BLOCK = 4;
export const SUB_BLOCKS_PER_SHORT_TERM = 30;
export const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_INTEGRATED_LU = -10;
const RELATIVE_GATE_RANGE_LU = -20;

/** Loudness of a mean square of the K-weighted signal (mono: one channel, weight 1). */
export const lufs = (meanSquare: number): number => -0.691 + 10 * Math.log10(meanSquare);

/** Mean squares of every window of `width` consecutive sub-blocks (each sub-block the same length). */
export function windowPowers(subBlocks: ArrayLike<number>, count: number, width: number): Float64Array {
  const out = new Float64Array(Math.max(0, count - width + 1));
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum += subBlocks[i]!;
    if (i >= width) sum -= subBlocks[i - width]!;
    if (i >= width - 1) out[i - width + 1] = Math.max(0, sum) / width;
  }
  return out;
}

/** Powers above the absolute gate, then above `relativeLu` below their mean. */
function gated(powers: Float64Array, relativeLu: number): Float64Array {
  const absGate = 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10);
  const loud = powers.filter((p) => p > absGate);
  if (loud.length === 0) return loud;
  const relGate = (loud.reduce((s, p) => s + p, 0) / loud.length) * 10 ** (relativeLu / 10);
  return loud.filter((p) => p > relGate);
}

/** BS.1770-4 integrated loudness of 400 ms block powers; null when no block passes the absolute gate. */
export function integratedLoudness(blockPowers: Float64Array): number | null {
  const kept = gated(blockPowers, RELATIVE_GATE_INTEGRATED_LU);
  if (kept.length === 0) return null;
  return lufs(kept.reduce((s, p) => s + p, 0) / kept.length);
}

/** EBU Tech 3342 loudness range: 95th minus 10th percentile of the gated short-term loudness; 0 with none. */
export function loudnessRange(shortTermPowers: Float64Array): number {
  const kept = gated(shortTermPowers, RELATIVE_GATE_RANGE_LU);
  if (kept.length === 0) return 0;
  const levels = Float64Array.from(kept, lufs).sort();
  const at = (q: number) => levels[Math.round((levels.length - 1) * q)]!;
  return at(0.95) - at(0.1);
}
