import { badInput } from './errors.js';

/** S3's limits: at most 10,000 parts, each at least 5 MiB but the last. */
export const MAX_PARTS = 10_000;
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface PartPlan {
  partSize: number;
  parts: { partNumber: number; length: number }[];
}

/** Splits `size` bytes into parts of `partBytes` (grown if 10,000 would not do). */
export function planParts(size: number, partBytes: number): PartPlan {
  const partSize = Math.max(partBytes, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
  const count = Math.ceil(size / partSize);
  return {
    partSize,
    parts: Array.from({ length: count }, (_, i) => ({
      partNumber: i + 1,
      length: i === count - 1 ? size - partSize * i : partSize,
    })),
  };
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/**
 * A completion's parts list must name every part once, in order, each with
 * its ETag; the message says exactly what is wrong so the client can fix it.
 */
export function validateUploadedParts(parts: UploadedPart[] | null | undefined, expectedCount: number): UploadedPart[] {
  if (!parts || parts.length === 0) {
    throw badInput(`this is a multipart upload: parts must list all ${expectedCount} parts with their ETags`, 'parts');
  }
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.partNumber !== i + 1) {
      throw badInput(`parts must be in order 1..${expectedCount}: position ${i + 1} holds part ${p.partNumber}`, 'parts');
    }
    if (p.etag.trim() === '') throw badInput(`part ${p.partNumber} has an empty etag`, 'parts');
  }
  if (parts.length !== expectedCount) {
    throw badInput(`parts lists ${parts.length} of ${expectedCount} parts: missing ${parts.length + 1}..${expectedCount}`, 'parts');
  }
  return parts;
}
