import { type GateDecision, detectObjectFileType } from '../../src/media/gate.js';

/** The gate over bytes already in memory, taken to be the whole file. */
export function detectFileType(head: Uint8Array): Promise<GateDecision> {
  return detectObjectFileType(async (start, end) => head.subarray(start, end + 1), head.length);
}
