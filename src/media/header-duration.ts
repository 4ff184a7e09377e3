// Lengths a file states in binary header fields that we parse ourselves, read
// before ffmpeg starts: the FLAC STREAMINFO sample count, the frame count of
// an MP3's Xing/Info frame, and Ogg granules (ogg-duration.ts). They let a
// file that decodes to hours (a 70 KB FLAC of silence) be refused in
// milliseconds, and give progress its denominator. Tags and comments never
// reach these readers, and ffmpeg's text output is never parsed. A file that
// lies only hurts itself: one that claims too much is refused, one that claims
// too little is still stopped by the decoded sample count.
import { oggDurationSeconds } from './ogg-duration.js';

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
