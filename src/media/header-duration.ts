// Lengths a file states in binary header fields that we parse ourselves,
// before ffmpeg starts: FLAC STREAMINFO's sample count, an MP3 Xing/Info
// frame count, the last Ogg granule. A file that decodes to hours (a 70 KB
// FLAC of silence) is refused in milliseconds, and progress gets its
// denominator. No tag and no text of ffmpeg's is read. A lying file only hurts
// itself: too much is refused, too little is stopped by the decoded count.

// Ogg: the first page's identification packet and the last page's granule (RFC 3533, RFC 7845).
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

const ascii = (b: Uint8Array, at: number, text: string) =>
  b.length >= at + text.length && [...text].every((c, i) => b[at + i] === c.charCodeAt(0));

/** STREAMINFO (always the first metadata block): total samples / sample rate; null when unknown (0). */
export function flacDurationSeconds(head: Uint8Array): number | null {
  if (!ascii(head, 0, 'fLaC') || head.length < 8 + 18 || (head[4]! & 0x7f) !== 0) return null;
  const info = head.subarray(8);
  const rate = (info[10]! << 12) | (info[11]! << 4) | (info[12]! >> 4);
  const total = (info[13]! & 0x0f) * 2 ** 32 + new DataView(info.buffer, info.byteOffset).getUint32(14);
  return rate > 0 && total > 0 ? total / rate : null;
}

const MPEG_RATES = [[11_025, 12_000, 8_000], [0, 0, 0], [22_050, 24_000, 16_000], [44_100, 48_000, 32_000]];

/** The Xing/Info frame count of an MPEG audio stream starting at head[0]; null without one. */
export function mp3DurationSeconds(head: Uint8Array): number | null {
  if (head.length < 4 || head[0] !== 0xff || (head[1]! & 0xe0) !== 0xe0) return null;
  const version = (head[1]! >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (head[1]! >> 1) & 3; // 1: layer III
  const rate = MPEG_RATES[version]?.[(head[2]! >> 2) & 3] ?? 0;
  if (version === 1 || layer !== 1 || rate === 0) return null;
  const mono = head[3]! >> 6 === 3;
  const at = 4 + (version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17);
  if (!ascii(head, at, 'Xing') && !ascii(head, at, 'Info')) return null;
  if (head.length < at + 12 || !(head[at + 7]! & 1)) return null;
  const frames = new DataView(head.buffer, head.byteOffset).getUint32(at + 8);
  return frames > 0 ? (frames * (version === 3 ? 1152 : 576)) / rate : null;
}

/**
 * The stated length for the gate's demuxer: `head` is the container's first
 * bytes (after any ID3v2 tag), `tail` reads the object's last bytes (Ogg only).
 */
export async function headerDurationSeconds(demuxer: string, head: Uint8Array, tail: () => Promise<Uint8Array>): Promise<number | null> {
  if (demuxer === 'flac') return flacDurationSeconds(head);
  if (demuxer === 'mp3') return mp3DurationSeconds(head);
  if (demuxer === 'ogg') return oggDurationSeconds(head.subarray(0, 4096), await tail());
  return null;
}
