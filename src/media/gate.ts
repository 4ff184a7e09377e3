// The file-type gate: an upload is audio only if its leading bytes say so;
// names, declared types and extensions are never consulted (contract).
// file-type 22 matches containers by signatures at offset 0 (several are
// ASCII, so a text file starting "OggS" passes here and fails at the forced
// demuxer); MPEG audio and ADTS only by an 11-bit frame sync at offset 0
// (random binary passes about once in a few thousand tries). What the gate
// keeps out is everything ffmpeg would otherwise probe into: playlists,
// images, executables, archives, HTML. Leading ID3v2 tags are skipped here
// (id3v2Size), reading further when a tag (cover art) is larger than the
// first read: file-type answers 'mp3' for a tag that runs past its bytes, and
// ffmpeg skips ID3v2 for every demuxer. MP3s as old taggers and rippers leave
// them (junk before the first frame, a wrong tag size) pass only when nothing
// else is recognised and MP3_CHAIN_FRAMES frame headers follow one another
// (findMpegAudio): one sync in random binary passes about once in a few
// thousand tries, three in a chain do not. Whatever passes still has to
// decode, with the demuxer forced (`-f`) and only the allowed decoders.
import { fileTypeFromBuffer } from 'file-type';

export type GateDecision =
  /** `head`: the container's first bytes (after any ID3v2 tag), when the gate read them. */
  | { ok: true; mime: string; ext: string; demuxer: string; head?: Uint8Array }
  | { ok: false; detected: string | null; reason: string };

export interface DetectedType {
  ext: string;
  mime: string;
}

interface AllowedType {
  /** file-type's `mime` values accepted for this `ext`. */
  mimes: readonly string[];
  /** ffmpeg demuxer to force with `-f` (names checked with `ffmpeg -demuxers`, Debian ffmpeg 5.1). */
  demuxer: string;
}

/**
 * The allow-list, keyed by file-type's `ext`. Video containers are allowed
 * (phones record video; only the first audio stream is kept). Absent: DRM'd
 * MP4, Motion JPEG 2000, tracker modules, MIDI, general video containers.
 */
export const ALLOWED_TYPES: Readonly<Record<string, AllowedType>> = {
  mp3: { mimes: ['audio/mpeg'], demuxer: 'mp3' },
  mp2: { mimes: ['audio/mpeg'], demuxer: 'mp3' }, // ffmpeg's mp3 demuxer reads MPEG audio layers 1-3
  mp1: { mimes: ['audio/mpeg'], demuxer: 'mp3' },
  aac: { mimes: ['audio/aac'], demuxer: 'aac' }, // ADTS
  m4a: { mimes: ['audio/x-m4a'], demuxer: 'mov' }, // 'mov' = ffmpeg's "mov,mp4,m4a,3gp,3g2,mj2"
  m4b: { mimes: ['audio/mp4'], demuxer: 'mov' },
  mp4: { mimes: ['video/mp4'], demuxer: 'mov' },
  m4v: { mimes: ['video/x-m4v'], demuxer: 'mov' },
  mov: { mimes: ['video/quicktime'], demuxer: 'mov' },
  '3gp': { mimes: ['video/3gpp'], demuxer: 'mov' },
  '3g2': { mimes: ['video/3gpp2'], demuxer: 'mov' },
  f4a: { mimes: ['audio/mp4'], demuxer: 'mov' },
  f4b: { mimes: ['audio/mp4'], demuxer: 'mov' },
  f4v: { mimes: ['video/mp4'], demuxer: 'mov' },
  opus: { mimes: ['audio/ogg; codecs=opus'], demuxer: 'ogg' },
  ogg: { mimes: ['audio/ogg'], demuxer: 'ogg' }, // Vorbis
  oga: { mimes: ['audio/ogg'], demuxer: 'ogg' }, // FLAC in Ogg
  spx: { mimes: ['audio/ogg'], demuxer: 'ogg' }, // Speex
  ogv: { mimes: ['video/ogg'], demuxer: 'ogg' },
  ogm: { mimes: ['video/ogg'], demuxer: 'ogg' },
  ogx: { mimes: ['application/ogg'], demuxer: 'ogg' }, // first stream not recognised, e.g. a Skeleton header
  webm: { mimes: ['video/webm'], demuxer: 'matroska' }, // ffmpeg's "matroska,webm"
  mkv: { mimes: ['video/matroska'], demuxer: 'matroska' }, // .mka too: file-type names all Matroska 'mkv'
  wav: { mimes: ['audio/wav'], demuxer: 'wav' },
  flac: { mimes: ['audio/flac'], demuxer: 'flac' },
  aif: { mimes: ['audio/aiff'], demuxer: 'aiff' }, // AIFF and AIFF-C (see refine)
  amr: { mimes: ['audio/amr'], demuxer: 'amr' }, // "#!AMR" and "#!AMR-WB"
  caf: { mimes: ['audio/x-caf'], demuxer: 'caf' },
  asf: { mimes: ['audio/x-ms-asf', 'video/x-ms-asf', 'application/vnd.ms-asf'], demuxer: 'asf' }, // WMA/WMV
  ac3: { mimes: ['audio/vnd.dolby.dd-raw'], demuxer: 'ac3' }, // also reads E-AC-3 (same 0x0B77 sync)
  mpc: { mimes: ['audio/x-musepack'], demuxer: 'mpc' }, // SV7; SV8 needs 'mpc8' (see refine)
  wv: { mimes: ['audio/wavpack'], demuxer: 'wv' },
  ape: { mimes: ['audio/ape'], demuxer: 'ape' },
  dsf: { mimes: ['audio/x-dsf'], demuxer: 'dsf' },
  qcp: { mimes: ['audio/qcelp'], demuxer: 'qcp' },
  voc: { mimes: ['audio/x-voc'], demuxer: 'voc' },
  // Not known to file-type 22; recognised by EXTRA_SIGNATURES below.
  w64: { mimes: ['audio/x-w64'], demuxer: 'w64' },
  tta: { mimes: ['audio/x-tta'], demuxer: 'tta' },
};

const startsWith = (head: Uint8Array, ascii: string, at = 0): boolean =>
  head.length >= at + ascii.length && [...ascii].every((c, i) => head[at + i] === c.charCodeAt(0));

const W64_RIFF_GUID = [0x72, 0x69, 0x66, 0x66, 0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00];

/**
 * Audio containers file-type does not recognise, each with a signature at
 * least four bytes long: RF64/BW64 (WAV over 4 GiB, broadcast WAV; ffmpeg's
 * wav demuxer reads them), Sony Wave64 and TTA. Consulted only when file-type
 * finds nothing. The mimes are ours.
 */
export function detectExtraSignature(head: Uint8Array): DetectedType | undefined {
  if ((startsWith(head, 'RF64') || startsWith(head, 'BW64')) && startsWith(head, 'WAVE', 8)) return { ext: 'wav', mime: 'audio/wav' };
  if (head.length >= 16 && W64_RIFF_GUID.every((b, i) => head[i] === b)) return { ext: 'w64', mime: 'audio/x-w64' };
  if (startsWith(head, 'TTA1')) return { ext: 'tta', mime: 'audio/x-tta' };
  return undefined;
}

/**
 * Pure policy. `head` (bytes from the start of the container, after any ID3v2
 * tag) lets the gate correct what file-type's ext cannot express: it calls
 * every IFF "FORM" an 'aif' (8SVX, ILBM images...), and both Musepack versions 'mpc'.
 */
export function decideFileType(detected: DetectedType | undefined, head?: Uint8Array): GateDecision {
  if (!detected) return { ok: false, detected: null, reason: 'no known file type in the leading bytes' };
  const allowed = Object.hasOwn(ALLOWED_TYPES, detected.ext) ? ALLOWED_TYPES[detected.ext] : undefined;
  if (!allowed || !allowed.mimes.includes(detected.mime)) {
    return { ok: false, detected: detected.mime, reason: `${detected.mime} is not an accepted audio container` };
  }
  let demuxer = allowed.demuxer;
  if (head && detected.ext === 'aif' && !startsWith(head, 'AIFF', 8) && !startsWith(head, 'AIFC', 8)) {
    return { ok: false, detected: detected.mime, reason: 'IFF FORM file that is not AIFF or AIFF-C' };
  }
  if (head && detected.ext === 'mpc' && startsWith(head, 'MPCK')) demuxer = 'mpc8';
  return { ok: true, mime: detected.mime, ext: detected.ext, demuxer };
}

/**
 * Total length of the ID3v2 tag at the start of `head` (10-byte header + body
 * + 10-byte footer when flagged), 0 when `head` does not start with "ID3", -1
 * when it does but the header is invalid or incomplete (ID3v2.4 §3.1: version
 * bytes < 0xFF, size bytes < 0x80).
 */
export function id3v2Size(head: Uint8Array): number {
  if (!startsWith(head, 'ID3')) return 0;
  if (head.length < 10) return -1;
  const major = head[3]!;
  const sizeBytes = head.subarray(6, 10);
  if (major === 0xff || head[4] === 0xff || sizeBytes.some((b) => b & 0x80)) return -1;
  const body = sizeBytes.reduce((n, b) => (n << 7) | b, 0); // 4 x 7 bits: at most 2^28 - 1
  const footer = major >= 4 && head[5]! & 0x10 ? 10 : 0;
  return 10 + body + footer;
}

/** Bytes to read from the start of the object (and after each ID3v2 tag); 64 KiB covers most tags in one read, file-type needs ~4,100. */
export const GATE_HEAD_BYTES = 64 * 1024;
/** file-type's own sample size for streams (reasonableDetectionSizeInBytes): enough for every signature it checks. */
const FILE_TYPE_SAMPLE_BYTES = 4100;
/** Chained ID3v2 tags happen (ffmpeg skips them in a loop); more reads than this are refused. */
export const GATE_MAX_READS = 4;

/** Reads bytes [start, endInclusive] of the object, as an HTTP Range request does. */
export type ReadRange = (start: number, endInclusive: number) => Promise<Uint8Array>;

/**
 * The gate for a stored object: reads its first GATE_HEAD_BYTES, skips any
 * ID3v2 tags (one more ranged read past each tag that does not fit), and
 * decides from what follows. At most GATE_MAX_READS reads.
 */
export async function detectObjectFileType(readRange: ReadRange, sizeBytes: number): Promise<GateDecision> {
  if (sizeBytes <= 0) return { ok: false, detected: null, reason: 'empty file' };
  let buf = await readRange(0, Math.min(sizeBytes, GATE_HEAD_BYTES) - 1);
  let offset = 0; // of buf[0] in the object
  let reads = 1;
  for (let tag = id3v2Size(buf); tag !== 0; tag = id3v2Size(buf)) {
    // A size that is not sync-safe (some old taggers): ffmpeg does not skip
    // such a tag either, its mp3 demuxer steps over it as junk; so do we.
    if (tag < 0) return mpegAudioDecision(buf.subarray(3), 'malformed ID3v2 header and no MPEG audio frames after it');
    offset += tag;
    if (offset >= sizeBytes) return { ok: false, detected: null, reason: 'ID3v2 tag with no audio after it' };
    if (buf.length - tag >= Math.min(FILE_TYPE_SAMPLE_BYTES, sizeBytes - offset)) {
      buf = buf.subarray(tag);
    } else if (reads < GATE_MAX_READS) {
      buf = await readRange(offset, Math.min(sizeBytes, offset + GATE_HEAD_BYTES) - 1);
      reads++;
    } else {
      return { ok: false, detected: null, reason: `ID3v2 tags need more than ${GATE_MAX_READS} reads` };
    }
  }
  const detected = (await fileTypeFromBuffer(buf)) ?? detectExtraSignature(buf);
  if (!detected) return mpegAudioDecision(buf, 'no known file type in the leading bytes');
  const decision = decideFileType(detected, buf);
  return decision.ok ? { ...decision, head: buf } : decision;
}

/** MPEG audio frames after junk, or a refusal saying `reason`. */
function mpegAudioDecision(buf: Uint8Array, reason: string): GateDecision {
  const found = findMpegAudio(buf);
  if (!found) return { ok: false, detected: null, reason };
  return decideFileType({ ext: found.ext, mime: 'audio/mpeg' });
}

/** Frames that must follow one another for junk-prefixed bytes to count as MPEG audio. */
export const MP3_CHAIN_FRAMES = 3;

// Kbit/s by [MPEG-1 ? 0 : 1][layer 1..3][bitrate index]; index 0 (free format) and 15 are refused.
const BITRATES: readonly (readonly (readonly number[])[])[] = [
  [[], [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384], [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]],
  [[], [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256], [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]],
];
const SAMPLE_RATES: Readonly<Record<number, readonly number[]>> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

export interface MpegFrameHeader {
  /** Version bits: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5. */
  version: number;
  layer: 1 | 2 | 3;
  sampleRate: number;
  /** Whole frame, header included. */
  length: number;
}

/** The MPEG audio frame header at `at` (ISO/IEC 11172-3 §2.4.2.3), or undefined. */
export function mpegFrameHeader(b: Uint8Array, at: number): MpegFrameHeader | undefined {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xe0) !== 0xe0) return undefined;
  const version = (b[at + 1]! >> 3) & 3;
  const layerBits = (b[at + 1]! >> 1) & 3;
  const bitrateIndex = b[at + 2]! >> 4;
  const rateIndex = (b[at + 2]! >> 2) & 3;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const kbps = BITRATES[version === 3 ? 0 : 1]![layer]![bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!;
  const padding = (b[at + 2]! >> 1) & 1;
  let length: number;
  if (layer === 1) length = (Math.floor((12 * kbps * 1000) / sampleRate) + padding) * 4;
  else if (layer === 3 && version !== 3) length = Math.floor((72 * kbps * 1000) / sampleRate) + padding;
  else length = Math.floor((144 * kbps * 1000) / sampleRate) + padding;
  return { version, layer, sampleRate, length };
}

/**
 * The first offset in `b` where MP3_CHAIN_FRAMES MPEG audio frames of one
 * version, layer and sample rate follow one another, with the ext file-type
 * would give that layer; undefined when there is none.
 */
export function findMpegAudio(b: Uint8Array): { offset: number; ext: 'mp3' | 'mp2' | 'mp1' } | undefined {
  for (let at = b.indexOf(0xff); at >= 0; at = b.indexOf(0xff, at + 1)) {
    const first = mpegFrameHeader(b, at);
    if (!first) continue;
    let next = at + first.length;
    let chained = 1;
    for (; chained < MP3_CHAIN_FRAMES; chained++) {
      const h = mpegFrameHeader(b, next);
      if (!h || h.version !== first.version || h.layer !== first.layer || h.sampleRate !== first.sampleRate) break;
      next += h.length;
    }
    if (chained === MP3_CHAIN_FRAMES) return { offset: at, ext: first.layer === 3 ? 'mp3' : first.layer === 2 ? 'mp2' : 'mp1' };
  }
  return undefined;
}
