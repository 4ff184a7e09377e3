// Pure ffmpeg argument builder for the one-pass transcode: one presigned
// HTTP(S) input, one decode, two outputs (AAC-LC as ADTS into a file, which
// media/m4a-file.ts turns into the faststart M4A, + s16le PCM on stdout for
// the peak reducer), as one process or as a decoder piped into an encoder.
// No I/O here, so it is tested on arrays.
import { isAbsolute } from 'node:path';

export interface TranscodeArgsOptions {
  /** Presigned GET URL of the original; http or https only. */
  inputUrl: string;
  /** Demuxer name forced with `-f`, from magic-byte detection (e.g. `mp3`, `mov`). */
  demuxer: string;
  /** Where the AAC is written as ADTS (a path the caller created under TMPDIR). */
  adtsPath: string;
  bitrateKbps?: number;
  sampleRate?: number;
  /** When set, both outputs stop at this + `durationMarginSeconds`. */
  maxDurationSeconds?: number;
  /** Margin past the limit so the caller's sample count can see the excess. */
  durationMarginSeconds?: number;
  /** Per read/connect I/O timeout; a dead storage then fails instead of hanging. */
  ioTimeoutSeconds?: number;
  /** `-xerror`: decode errors become a non-zero exit instead of silent gaps. */
  exitOnError?: boolean;
  /** Let the demuxer seek (HTTP Range); default: only demuxers that need it. */
  seekable?: boolean;
  /** https: check the storage's certificate (ffmpeg's own default is not to). */
  verifyTls?: boolean;
  /** https: CA bundle for storage behind a private CA (else the system's). */
  caFile?: string;
}

type Defaulted =
  'bitrateKbps' | 'sampleRate' | 'durationMarginSeconds' | 'ioTimeoutSeconds' | 'exitOnError' | 'verifyTls';

const DEFAULTS: Required<Pick<TranscodeArgsOptions, Defaulted>> = {
  bitrateKbps: 64,
  sampleRate: 44_100,
  durationMarginSeconds: 1,
  ioTimeoutSeconds: 10,
  exitOnError: true,
  verifyTls: true,
};

const DEMUXER_NAME = /^[a-z0-9_]+$/;

// Demuxers that cannot decode front to back without seeking: MP4/MOV with the
// moov after mdat, CAF with its packet table after the data chunk.
const RANDOM_ACCESS_DEMUXERS: ReadonlySet<string> = new Set([
  'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'caf',
]);

/**
 * Whether the input should be opened seekable. Everything else is read as a
 * stream: measured on ffmpeg 5.1, the mp3 demuxer resyncing through a 64 KiB
 * file of an MPEG header plus noise seeks back to 0 over and over, ~2,500
 * Range GETs a second until killed, where `-seekable 0` fails it in 0.3 s.
 */
export function needsSeeking(demuxer: string): boolean {
  return RANDOM_ACCESS_DEMUXERS.has(demuxer);
}

/**
 * The protocols ffmpeg may open for this input URL: the scheme itself plus the
 * transport below it. Nothing else (no file, hls, concat, data, crypto, ...),
 * so a file cannot make ffmpeg follow a reference elsewhere.
 */
export function allowedProtocols(inputUrl: string): string[] {
  let scheme: string;
  try {
    scheme = new URL(inputUrl).protocol;
  } catch {
    throw new Error(`ffmpeg input must be an absolute http(s) URL, got an unparseable value`);
  }
  if (scheme === 'http:') return ['http', 'tcp'];
  if (scheme === 'https:') return ['https', 'tls', 'tcp'];
  throw new Error(`ffmpeg input URL scheme must be http or https, got "${scheme.replace(/:$/, '')}"`);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

// Only for https: on an http input ffmpeg 5.1 rejects tls options as unknown.
function tlsArgs(url: string, verify: boolean, caFile: string | undefined): string[] {
  if (new URL(url).protocol !== 'https:') return [];
  if (caFile !== undefined && !isAbsolute(caFile)) {
    throw new Error(`caFile must be an absolute path, got ${JSON.stringify(caFile)}`);
  }
  return [
    '-tls_verify', verify ? '1' : '0',
    ...(caFile !== undefined ? ['-ca_file', caFile] : []),
  ];
}

type Resolved = TranscodeArgsOptions & typeof DEFAULTS;

function inputArgs(o: Resolved): string[] {
  const url = o.inputUrl;
  const seekable = o.seekable ?? needsSeeking(o.demuxer);
  // Seekable: reconnect (with a Range from the current offset) when the body
  // ends before Content-Length; the presigned query signs only `host`, so the
  // retried request stays valid until the URL expires. A stream can't resume
  // (ffmpeg would restart at byte 0), so a short body is an I/O error, which
  // -xerror turns into exit 1 (without it: exit 0 and half the audio).
  // reconnect_on_network_error is absent from the 2018 fallback build, which
  // would refuse the whole command line.
  const access = seekable
    ? ['-reconnect', '1', '-reconnect_delay_max', '4']
    : ['-seekable', '0'];
  return [
    '-protocol_whitelist', allowedProtocols(url).join(','),
    // Microseconds. Bounds every connect and read, so a storage that accepts
    // the connection and then goes silent ends in an error, not a hang.
    '-rw_timeout', String(Math.round(positive('ioTimeoutSeconds', o.ioTimeoutSeconds) * 1_000_000)),
    ...access,
    ...tlsArgs(url, o.verifyTls, o.caFile),
    // Don't ask storage for Shoutcast metadata; it is not a radio stream.
    '-icy', '0',
    // Forced demuxer: no probing, so a file can't pick hls/concat/image2.
    '-f', o.demuxer,
    '-i', url,
  ];
}

function durationArgs(maxDurationSeconds: number | undefined, margin: number): string[] {
  if (maxDurationSeconds === undefined) return [];
  const seconds = positive('maxDurationSeconds', maxDurationSeconds) + margin;
  return ['-t', String(seconds)];
}

interface Prepared {
  o: Resolved;
  rate: string;
  bitrate: string;
  limit: string[];
}

function prepare(options: TranscodeArgsOptions): Prepared {
  const o: Resolved = { ...DEFAULTS, ...stripUndefined(options) };
  if (!DEMUXER_NAME.test(o.demuxer)) {
    throw new Error(`ffmpeg demuxer must match ${DEMUXER_NAME}, got ${JSON.stringify(o.demuxer)}`);
  }
  if (!isAbsolute(o.adtsPath)) {
    // A relative name could start with '-' (read as an option) or 'xyz:'
    // (read as a protocol); an absolute path is always the file protocol.
    throw new Error(`adtsPath must be an absolute path, got ${JSON.stringify(o.adtsPath)}`);
  }
  return {
    o,
    rate: String(positive('sampleRate', o.sampleRate)),
    bitrate: `${positive('bitrateKbps', o.bitrateKbps)}k`,
    limit: durationArgs(o.maxDurationSeconds, o.durationMarginSeconds),
  };
}

/**
 * A process reading the input logs at `info`: that still prints the input's
 * `Duration:` line, which the runner parses so an obviously too long file is
 * refused before it is decoded. The encoder of a pipeline has none to print.
 */
function globalArgs(o: Resolved, logLevel: 'info' | 'error' = 'info'): string[] {
  return [
    '-hide_banner', '-nostdin', '-nostats',
    '-loglevel', logLevel,
    ...(o.exitOnError ? ['-xerror'] : []),
    '-y',
  ];
}

/** An output of one graph pad, without the input's metadata or chapters. */
function mapArgs(pad: '[e]' | '[p]'): string[] {
  return ['-map', pad, '-map_metadata', '-1', '-map_chapters', '-1'];
}

/** The input, the one decode, then downmix and resample once and split: [e] for the AAC, [p] for the peaks. */
function decodeArgs({ o, rate }: Prepared): string[] {
  // Downmix and resample once, then split: cheaper than letting each output
  // convert on its own (STACK.md: 1.08x a bare transcode).
  const graph =
    `[0:a:0]aformat=sample_fmts=fltp:channel_layouts=mono,aresample=${rate},asplit=2[e][p]`;
  return [
    ...inputArgs(o),
    // One filter thread instead of one per CPU: audio filters gain nothing
    // from more, and each thread's stack and malloc arena count against the
    // runner's address-space limit.
    '-filter_complex_threads', '1',
    '-filter_complex', graph,
  ];
}

/** The AAC-LC encoder's settings. */
function aacArgs({ rate, bitrate }: Prepared): string[] {
  return ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', bitrate, '-ac', '1', '-ar', rate];
}

/**
 * The AAC's file. Not `-f ipod -movflags +faststart`: the mov muxer keeps ~72
 * bytes per frame in memory (+19 MB of RSS over two hours) and rewrites the
 * whole file at the end; ADTS keeps nothing, and our own writer
 * (media/m4a-file.ts) builds the faststart M4A.
 */
function adtsOutputArgs({ o }: Prepared): string[] {
  return ['-f', 'adts', o.adtsPath];
}

/** Output [p]: PCM for the peak reducer on stdout (pipe:1). */
function peaksOutputArgs({ rate, limit }: Prepared): string[] {
  return [
    ...mapArgs('[p]'),
    '-c:a', 'pcm_s16le', '-ac', '1', '-ar', rate,
    ...limit,
    // `-flush_packets 0` lets the raw muxer fill its buffer instead of one
    // write(2) per packet: a quarter of the system time.
    '-flush_packets', '0',
    '-f', 's16le', 'pipe:1',
  ];
}

/** One process: decode, encode the AAC, and write the PCM for the peaks. */
export function buildTranscodeArgs(options: TranscodeArgsOptions): string[] {
  const p = prepare(options);
  return [
    ...globalArgs(p.o),
    ...decodeArgs(p),
    // Output 1: the AAC frames as ADTS.
    ...mapArgs('[e]'),
    ...aacArgs(p), ...p.limit, ...adtsOutputArgs(p),
    // Output 2, always last.
    ...peaksOutputArgs(p),
  ];
}

/** The float PCM between the two processes of a pipelined transcode: the AAC encoder's own input format. */
const PIPE_FORMAT = 'f32le';

/**
 * The same transcode as two processes joined by a pipe, so the decode and the
 * AAC encode (~85 % of the CPU) run on two cores at once. The decoder
 * writes the encoder's input as float PCM to its fd 3 (`pipe:3`, the
 * encoder's stdin) and the peaks' PCM to stdout. Float carries the decoded
 * samples unchanged, so the AAC is byte for byte the one-process AAC.
 */
export function buildPipelinedTranscodeArgs(options: TranscodeArgsOptions): { decoder: string[]; encoder: string[] } {
  const p = prepare(options);
  const decoder = [
    ...globalArgs(p.o),
    ...decodeArgs(p),
    ...mapArgs('[e]'),
    '-c:a', `pcm_${PIPE_FORMAT}`,
    ...p.limit,
    '-flush_packets', '0',
    '-f', PIPE_FORMAT, 'pipe:3',
    ...peaksOutputArgs(p),
  ];
  const encoder = [
    ...globalArgs(p.o, 'error'),
    // A raw stream: nothing to probe, nothing a file could choose.
    '-f', PIPE_FORMAT, '-ar', p.rate, '-ac', '1', '-i', 'pipe:0',
    '-map_metadata', '-1',
    ...aacArgs(p), ...adtsOutputArgs(p),
  ];
  return { decoder, encoder };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
