// The pure plan of one media run: facts about the input (URL, demuxer, the
// pinned ETag) and our settings in, ffmpeg's argument lists out. One
// presigned HTTP(S) input, one decode, then a filter graph split into the
// AAC for the M4A, the PCM for the analysers (stdout) and any extra output.
// No I/O here, so it is tested on arrays.
import { isAbsolute } from 'node:path';
import { gainFilter } from '../analysis/normalise.js';

/** Output rate of the M4A and of the PCM every analyser sees. */
export const OUTPUT_SAMPLE_RATE = 44_100;

/** An extra encoded output of the same decode, e.g. an Opus rendition. */
export interface ExtraOutput {
  /** Codec and muxer options for its graph pad, e.g. ['-c:a', 'libopus', '-b:a', '48k', '-f', 'ogg']. */
  args: string[];
  /** Absolute path in the job's temp dir. */
  path: string;
}

export interface PlanInput {
  /** Presigned GET URL of the original (http or https), and the demuxer the gate chose. */
  inputUrl: string;
  demuxer: string;
  /** The original as it was checked: ffmpeg reads it with `If-Match`. */
  etag: string | null;
  /** Where ffmpeg writes the faststart M4A. */
  m4aPath: string;
  maxDurationSeconds: number;
  /** The ffmpeg in use knows `-movie_timescale` (probed once at start-up). */
  movieTimescale: boolean;
  /** Decoder and encoder as two piped processes (a core to spare). */
  pipelined: boolean;
  /** A gain in dB applied to every output (loudness normalisation). */
  gainDb?: number;
  extraOutputs?: readonly ExtraOutput[];
  /** Decode for the analysers only, no M4A or extra output (the measuring pass of loudness normalisation). */
  analyseOnly?: boolean;
  bitrateKbps?: number;
  /** Per read/connect I/O timeout: a dead storage fails instead of hanging. */
  ioTimeoutSeconds?: number;
  /** https: check the storage's certificate (caFile for a private CA). */
  verifyTls?: boolean;
  caFile?: string;
}

/** The decoder (reads the input, PCM on stdout), the encoder on its fd 3 when pipelined, and the sample cap. */
export interface RunPlan {
  decoder: string[];
  encoder: string[] | null;
  maxSamples: number;
}

/**
 * The decoders of the gate's containers (gate.ts ALLOWED_TYPES) and nothing
 * else: a Matroska or MP4 file cannot reach one of ffmpeg's other audio
 * decoders (RealAudio, ...). Video and cover-art streams are never decoded
 * (only the first audio stream is mapped); their probes simply fail.
 */
export const AUDIO_DECODERS: readonly string[] = [
  'aac', 'aac_fixed', 'aac_latm', 'mp1', 'mp1float', 'mp2', 'mp2float', 'mp3', 'mp3float', 'alac', 'flac',
  'vorbis', 'libvorbis', 'opus', 'libopus', 'speex', 'libspeex', 'amrnb', 'amrwb', 'libopencore_amrnb', 'libopencore_amrwb',
  'ac3', 'ac3_fixed', 'eac3', 'wmav1', 'wmav2', 'wmapro', 'wmavoice', 'wmalossless', 'mpc7', 'mpc8', 'wavpack',
  'ape', 'tta', 'qcelp', 'gsm', 'gsm_ms', 'dsd_lsbf', 'dsd_msbf', 'dsd_lsbf_planar', 'dsd_msbf_planar',
  'adpcm_ima_wav', 'adpcm_ms', 'adpcm_ima_qt', 'g722', 'g726', 'adpcm_yamaha', 'adpcm_ima_oki',
  'adpcm_ima_apc', 'adpcm_ima_ws', 'adpcm_swf', 'adpcm_ct', 'adpcm_ima_amv',
  ...['s8', 'u8', 's16le', 's16be', 'u16le', 'u16be', 's24le', 's24be', 'u24le', 'u24be', 's32le', 's32be',
    'u32le', 'u32be', 's64le', 's64be', 'f16le', 'f24le', 'f32le', 'f32be', 'f64le', 'f64be', 'alaw', 'mulaw',
    's8_planar', 's16le_planar', 's16be_planar', 's24le_planar', 's32le_planar', 'lxf', 'bluray', 'dvd', 'vidc',
    'sga'].map((format) => `pcm_${format}`),
];

const DEMUXER_NAME = /^[a-z0-9_]+$/;
// An entity tag as storage sends it (RFC 9110 §8.8.3): no CR, LF or space can reach the header line.
const ETAG = /^(W\/)?"[\x21\x23-\x7e]*"$/;

// Demuxers that cannot decode front to back without seeking: MP4/MOV with the
// moov after mdat, CAF with its packet table after the data chunk.
const RANDOM_ACCESS_DEMUXERS: ReadonlySet<string> = new Set(['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'caf']);

/**
 * Whether the input is opened seekable. Everything else is read as a stream:
 * the mp3 demuxer resyncing through noise seeks back to 0 over and over
 * (~2,500 Range GETs a second), where `-seekable 0` fails it at once.
 */
export function needsSeeking(demuxer: string): boolean {
  return RANDOM_ACCESS_DEMUXERS.has(demuxer);
}

/** The protocols ffmpeg may open: the URL's scheme and its transport, nothing else (no file, hls, concat, data...). */
export function allowedProtocols(inputUrl: string): string[] {
  let scheme: string;
  try {
    scheme = new URL(inputUrl).protocol;
  } catch {
    throw new Error('ffmpeg input must be an absolute http(s) URL, got an unparseable value');
  }
  if (scheme === 'http:') return ['http', 'tcp'];
  if (scheme === 'https:') return ['https', 'tls', 'tcp'];
  throw new Error(`ffmpeg input URL scheme must be http or https, got "${scheme.replace(/:$/, '')}"`);
}

function positive(name: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new Error(`${name} must be a positive number, got ${value}`);
}

// A relative name could start with '-' (an option) or 'xyz:' (a protocol).
function absolute(name: string, path: string): string {
  if (isAbsolute(path)) return path;
  throw new Error(`${name} must be an absolute path, got ${JSON.stringify(path)}`);
}

// Only for https: on an http input ffmpeg 5.1 rejects tls options as unknown.
function tlsArgs(p: PlanInput): string[] {
  if (new URL(p.inputUrl).protocol !== 'https:') return [];
  return ['-tls_verify', p.verifyTls === false ? '0' : '1', ...(p.caFile !== undefined ? ['-ca_file', absolute('caFile', p.caFile)] : [])];
}

function pinArgs(etag: string | null): string[] {
  if (etag === null) return [];
  if (!ETAG.test(etag)) throw new Error(`not an entity tag: ${JSON.stringify(etag)}`);
  // Storage answers 412 once the object is not the one checked: a second PUT is never decoded.
  return ['-headers', `If-Match: ${etag}\r\n`];
}

function inputArgs(p: PlanInput): string[] {
  // Seekable: reconnect with a Range from the current offset when a body ends
  // early. A stream can't resume, so a short body is an I/O error (-xerror).
  const access = needsSeeking(p.demuxer) ? ['-reconnect', '1', '-reconnect_delay_max', '4'] : ['-seekable', '0'];
  return [
    '-protocol_whitelist', allowedProtocols(p.inputUrl).join(','),
    '-codec_whitelist', AUDIO_DECODERS.join(','),
    // Microseconds: bounds every connect and read.
    '-rw_timeout', String(Math.round(positive('ioTimeoutSeconds', p.ioTimeoutSeconds ?? 10) * 1_000_000)),
    ...access,
    ...tlsArgs(p),
    ...pinArgs(p.etag),
    '-icy', '0',
    // Forced demuxer: no probing, so a file can't pick hls/concat/image2.
    '-f', p.demuxer,
    '-i', p.inputUrl,
  ];
}

// Errors only, no banner, no stats: tags and titles are not printed, and no outcome depends on what is.
const GLOBAL_ARGS = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y'];

/**
 * `-xerror` (any decode or read error fails the run) except for mp3: junk or
 * an appended file after the last frame reaches the mp3 decoder as a broken
 * frame ("Header missing"), which it skips to resync. A file without one
 * decodable frame still fails: ffmpeg exits 69 when most packets fail, or 0
 * with no samples, which run.ts judges UNREADABLE_AUDIO.
 */
export function exitOnError(demuxer: string): string[] {
  return demuxer === 'mp3' ? [] : ['-xerror'];
}

/**
 * Resample and downmix once, as `ffmpeg -ac 1` does into 16-bit PCM: the mix
 * matrix is normalised so no output exceeds full scale (`rematrix_maxval=1`:
 * stereo becomes (L+R)/2). A float graph would otherwise mix at 0.707 per
 * channel, 3 dB louder, and correlated loud stereo would clip in the s16 PCM
 * that the waveform and loudness are measured on. aformat then fixes the
 * negotiated layout and sample format this resampler converts to.
 */
export const DOWNMIX = `aresample=${OUTPUT_SAMPLE_RATE}:rematrix_maxval=1`;

/** An output of one graph pad, without the input's metadata or chapters. */
const mapArgs = (pad: string) => ['-map', pad, '-map_metadata', '-1', '-map_chapters', '-1'];

function graph(p: PlanInput): string {
  const pads = p.analyseOnly ? ['[p]'] : ['[e]', '[p]', ...(p.extraOutputs ?? []).map((_, i) => `[x${i}]`)];
  const volume = gainFilter(p.gainDb ?? 0);
  const gain = volume ? `,${volume}` : '';
  // Downmix, resample (and apply the gain) once, then split for each output.
  return `[0:a:0]${DOWNMIX},aformat=sample_fmts=fltp:channel_layouts=mono${gain},asplit=${pads.length}${pads.join('')}`;
}

function aacArgs(p: PlanInput): string[] {
  const bitrate = `${positive('bitrateKbps', p.bitrateKbps ?? 64)}k`;
  return ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', bitrate, '-ac', '1', '-ar', String(OUTPUT_SAMPLE_RATE)];
}

/**
 * ffmpeg's mp4 muxer: moov first (+faststart), an edit list that cuts the
 * encoder's priming, and with the movie timescale at the sample rate, a
 * duration exact to the sample (else to the millisecond).
 */
function m4aArgs(p: PlanInput): string[] {
  const timescale = p.movieTimescale ? ['-movie_timescale', String(OUTPUT_SAMPLE_RATE)] : [];
  return ['-f', 'ipod', '-movflags', '+faststart', ...timescale, absolute('m4aPath', p.m4aPath)];
}

export function planRun(p: PlanInput): RunPlan {
  if (!DEMUXER_NAME.test(p.demuxer)) throw new Error(`ffmpeg demuxer must match ${DEMUXER_NAME}, got ${JSON.stringify(p.demuxer)}`);
  const max = positive('maxDurationSeconds', p.maxDurationSeconds);
  // Every output stops a second past the limit: enough for the sample count to see the excess.
  const limit = ['-t', String(max + 1)];
  const pcm = [...mapArgs('[p]'), '-c:a', 'pcm_s16le', ...limit, '-flush_packets', '0', '-f', 's16le', 'pipe:1'];
  const extras = (p.extraOutputs ?? []).flatMap((o, i) => [...mapArgs(`[x${i}]`), ...o.args, ...limit, absolute('extra output', o.path)]);
  const decode = [...GLOBAL_ARGS, ...exitOnError(p.demuxer), ...inputArgs(p), '-filter_complex_threads', '1', '-filter_complex', graph(p)];
  const maxSamples = Math.ceil(max * OUTPUT_SAMPLE_RATE);
  if (p.analyseOnly) return { decoder: [...decode, ...pcm], encoder: null, maxSamples };
  if (!p.pipelined) {
    return { decoder: [...decode, ...mapArgs('[e]'), ...aacArgs(p), ...limit, ...m4aArgs(p), ...extras, ...pcm], encoder: null, maxSamples };
  }
  // Two processes: float PCM (the encoder's own input format, so the AAC is
  // byte for byte the one-process AAC) goes to fd 3, the encoder's stdin.
  const decoder = [...decode, ...mapArgs('[e]'), '-c:a', 'pcm_f32le', ...limit, '-flush_packets', '0', '-f', 'f32le', 'pipe:3', ...extras, ...pcm];
  const rawInput = ['-f', 'f32le', '-ar', String(OUTPUT_SAMPLE_RATE), '-ac', '1', '-i', 'pipe:0'];
  return { decoder, encoder: [...GLOBAL_ARGS, '-xerror', ...rawInput, '-map_metadata', '-1', ...aacArgs(p), ...m4aArgs(p)], maxSamples };
}
