import { type GateDecision, detectObjectFileType } from '../../src/media/gate.js';

/** The gate over bytes already in memory, taken to be the whole file; the decision without the bytes it read. */
export async function detectFileType(bytes: Uint8Array): Promise<GateDecision> {
  const decision = await detectObjectFileType(async (start, end) => bytes.subarray(start, end + 1), bytes.length);
  if (!decision.ok) return decision;
  const { head: _head, ...rest } = decision;
  return rest;
}
