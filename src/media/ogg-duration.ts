/**
 * The duration of an Ogg Opus/Vorbis stream from its first and last pages,
 * read with two small ranged GETs before ffmpeg starts. ffmpeg reads Ogg as
 * a stream (-seekable 0, see ffmpeg-args.ts) and then reports no duration,
 * so without this an Opus file of hours of digital silence (a thousand to
 * one) could only be caught after decoding up to the limit, and progress
 * would have nothing to measure against.
 */
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"

function isPageAt(b: Uint8Array, i: number): boolean {
  return i + 27 <= b.length && CAPTURE.every((c, k) => b[i + k] === c) && b[i + 4] === 0;
}

/**
 * Granule position of the last complete-looking page header in `tail`, or
 * null. With `serial`, that page must belong to that logical stream: in a
 * chained Ogg the last page is another stream's, whose granules count from 0
 * again (and maybe at another rate), so the two reads cannot measure it.
 */
export function lastGranule(tail: Uint8Array, serial?: number): bigint | null {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let i = tail.length - 27; i >= 0; i--) {
    if (!isPageAt(tail, i)) continue;
    const granule = view.getBigInt64(i + 6, true);
    if (granule < 0n) continue;
    return serial === undefined || view.getUint32(i + 14, true) === serial ? granule : null;
  }
  return null;
}

/** Codec facts from the first page's identification packet. */
export function oggStreamInfo(head: Uint8Array): { codec: 'opus' | 'vorbis'; rate: number; preSkip: number; serial: number } | null {
  if (!isPageAt(head, 0)) return null;
  const serial = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(14, true);
  const segments = head[26]!;
  const body = 27 + segments;
  const text = (at: number, n: number) => String.fromCharCode(...head.subarray(at, at + n));
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (body + 19 <= head.length && text(body, 8) === 'OpusHead') {
    // Opus granules always count 48 kHz samples (RFC 7845 §4).
    return { codec: 'opus', rate: 48_000, preSkip: view.getUint16(body + 10, true), serial };
  }
  if (body + 16 <= head.length && head[body] === 1 && text(body + 1, 6) === 'vorbis') {
    const rate = view.getUint32(body + 12, true);
    return rate > 0 ? { codec: 'vorbis', rate, preSkip: 0, serial } : null;
  }
  return null;
}

/** Seconds, or null when the stream is not Opus/Vorbis or the pages are unreadable. */
export function oggDurationSeconds(head: Uint8Array, tail: Uint8Array): number | null {
  const info = oggStreamInfo(head);
  if (!info) return null;
  const granule = lastGranule(tail, info.serial);
  if (granule === null) return null;
  const samples = Number(granule) - info.preSkip;
  return samples > 0 ? samples / info.rate : 0;
}
