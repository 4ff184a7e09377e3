import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALLOWED_TYPES } from '../../src/media/gate.js';
import { AUDIO_DECODERS, type PlanInput, allowedProtocols, exitOnError, needsSeeking, planRun } from '../../src/media/plan.js';

const URL_HTTP = 'http://127.0.0.1:9000/audio/uploads/abc?X-Amz-Signature=deadbeef';
const base: PlanInput = {
  inputUrl: URL_HTTP, demuxer: 'mp3', etag: '"0123abcd"', m4aPath: '/tmp/job-1/audio.m4a',
  maxDurationSeconds: 600, movieTimescale: true, pipelined: false,
};

/** The value following `flag`, at its n-th occurrence. */
function after(args: string[], flag: string, occurrence = 0): string | undefined {
  const positions = args.flatMap((arg, i) => (arg === flag ? [i] : []));
  const at = positions[occurrence];
  return at === undefined ? undefined : args[at + 1];
}

const count = (args: string[], value: string) => args.filter((arg) => arg === value).length;

describe('planRun (one process)', () => {
  const { decoder: args, encoder, maxSamples } = planRun(base);
  const input = args.indexOf('-i');

  it('prints errors only: no banner, no stats, nothing a tag could put on stderr at info level', () => {
    assert.deepEqual(args.slice(0, 3), ['-hide_banner', '-nostdin', '-nostats']);
    assert.equal(after(args, '-loglevel'), 'error');
    assert.equal(encoder, null);
  });

  // Bytes after an MP3's last frame are a broken frame to the decoder, which skips it.
  it('fails on the first decode or read error except for mp3, and always in the encoder', () => {
    assert.ok(!args.includes('-xerror'), 'mp3 resyncs past junk');
    for (const demuxer of ['wav', 'flac', 'ogg', 'mov', 'matroska']) {
      assert.ok(planRun({ ...base, demuxer }).decoder.includes('-xerror'), demuxer);
    }
    const piped = planRun({ ...base, pipelined: true });
    assert.ok(!piped.decoder.includes('-xerror'));
    assert.ok(piped.encoder!.includes('-xerror'));
    assert.deepEqual([exitOnError('mp3'), exitOnError('wav')], [[], ['-xerror']]);
  });

  it('has exactly one input: the URL, with the demuxer forced right before it', () => {
    assert.equal(count(args, '-i'), 1);
    assert.equal(args[input + 1], URL_HTTP);
    assert.deepEqual(args.slice(input - 2, input), ['-f', 'mp3']);
  });

  it('puts the protocol and codec whitelists, the I/O timeout and the If-Match pin among the input options', () => {
    for (const flag of ['-protocol_whitelist', '-codec_whitelist', '-rw_timeout', '-headers']) {
      assert.ok(args.indexOf(flag) !== -1 && args.indexOf(flag) < input, flag);
    }
    assert.equal(after(args, '-protocol_whitelist'), 'http,tcp');
    assert.equal(after(args, '-headers'), 'If-Match: "0123abcd"\r\n');
    assert.equal(after(args, '-rw_timeout'), '10000000');
  });

  it('reads without a pin when no ETag is known, and refuses a value that could break the header line', () => {
    assert.ok(!planRun({ ...base, etag: null }).decoder.includes('-headers'));
    assert.throws(() => planRun({ ...base, etag: '"x"\r\nHost: evil' }), /entity tag/);
  });

  it('whitelists only audio decoders, with one for every codec of the common accepted containers', () => {
    const list = after(args, '-codec_whitelist')!.split(',');
    assert.deepEqual(list, [...AUDIO_DECODERS]);
    for (const decoder of ['aac', 'mp3float', 'flac', 'opus', 'vorbis', 'alac', 'pcm_s16le', 'pcm_f32le', 'amrnb', 'amrwb', 'wmav2', 'ac3']) {
      assert.ok(list.includes(decoder), decoder);
    }
    for (const refused of ['real_144', 'real_288', 'cook', 'h264', 'mjpeg', 'png', 'sipr']) assert.ok(!list.includes(refused), refused);
    assert.ok(Object.keys(ALLOWED_TYPES).length > 0);
  });

  it('reads streaming containers as a stream, and lets MP4 seek and reconnect', () => {
    assert.equal(after(args, '-seekable'), '0');
    assert.ok(!args.includes('-reconnect'));
    const mov = planRun({ ...base, demuxer: 'mov' }).decoder;
    assert.ok(!mov.includes('-seekable'));
    assert.equal(after(mov, '-reconnect'), '1');
  });

  it('decodes once: the first audio stream, downmixed and resampled once, split for each output', () => {
    assert.equal(after(args, '-filter_complex_threads'), '1');
    assert.equal(after(args, '-filter_complex'), '[0:a:0]aresample=44100:rematrix_maxval=1,aformat=sample_fmts=fltp:channel_layouts=mono,asplit=2[e][p]');
  });

  it('has ffmpeg write the faststart M4A itself, AAC-LC 64k mono 44.1 kHz, without the input\'s metadata', () => {
    const m4a = args.indexOf('/tmp/job-1/audio.m4a');
    const out = args.slice(args.indexOf('[e]', input + 3) - 1, m4a + 1);
    assert.deepEqual(out.slice(0, 6), ['-map', '[e]', '-map_metadata', '-1', '-map_chapters', '-1']);
    assert.equal(after(out, '-c:a'), 'aac');
    assert.equal(after(out, '-profile:a'), 'aac_low');
    assert.equal(after(out, '-b:a'), '64k');
    assert.equal(after(out, '-f'), 'ipod');
    assert.equal(after(out, '-movflags'), '+faststart');
    assert.equal(after(out, '-movie_timescale'), '44100');
    assert.ok(!planRun({ ...base, movieTimescale: false }).decoder.includes('-movie_timescale'));
  });

  it('ends with the raw PCM on stdout; every output stops a second past the limit', () => {
    assert.deepEqual(args.slice(-3), ['-f', 's16le', 'pipe:1']);
    assert.equal(count(args, '-t'), 2);
    assert.equal(after(args, '-t'), '601');
    assert.equal(maxSamples, 600 * 44_100);
  });

  it('takes a gain and extra outputs in the same graph', () => {
    const plan = planRun({ ...base, gainDb: -3.5, extraOutputs: [{ args: ['-c:a', 'libopus', '-f', 'ogg'], path: '/tmp/job-1/audio.ogg' }] });
    assert.equal(after(plan.decoder, '-filter_complex'), '[0:a:0]aresample=44100:rematrix_maxval=1,aformat=sample_fmts=fltp:channel_layouts=mono,volume=-3.50dB,asplit=3[e][p][x0]');
    const extra = plan.decoder.indexOf('/tmp/job-1/audio.ogg');
    assert.deepEqual(plan.decoder.slice(extra - 12, extra),
      ['-map', '[x0]', '-map_metadata', '-1', '-map_chapters', '-1', '-c:a', 'libopus', '-f', 'ogg', '-t', '601']);
    assert.deepEqual(plan.decoder.slice(-3), ['-f', 's16le', 'pipe:1']);
  });

  it('rejects a bad demuxer, a relative path, bad numbers and non-http inputs', () => {
    assert.throws(() => planRun({ ...base, demuxer: 'mp3,hls' }), /demuxer/);
    assert.throws(() => planRun({ ...base, m4aPath: 'out.m4a' }), /absolute/);
    assert.throws(() => planRun({ ...base, maxDurationSeconds: 0 }), /positive/);
    assert.throws(() => planRun({ ...base, inputUrl: 'file:///etc/passwd' }), /http or https/);
  });
});

describe('planRun (pipelined)', () => {
  const one = planRun(base);
  const { decoder, encoder } = planRun({ ...base, pipelined: true });

  it('decodes exactly as one process: same input options, same graph', () => {
    assert.deepEqual(decoder.slice(0, decoder.indexOf('-map')), one.decoder.slice(0, one.decoder.indexOf('-map')));
  });

  it('sends [e] to fd 3 as float PCM and [p] to stdout last', () => {
    assert.ok(decoder.includes('pipe:3') && !decoder.includes('/tmp/job-1/audio.m4a'));
    assert.deepEqual(decoder.slice(-3), ['-f', 's16le', 'pipe:1']);
  });

  it('encodes stdin as mono float PCM at 44.1 kHz into the same M4A', () => {
    assert.ok(encoder);
    assert.deepEqual(encoder.slice(encoder.indexOf('-f'), encoder.indexOf('-i') + 2), ['-f', 'f32le', '-ar', '44100', '-ac', '1', '-i', 'pipe:0']);
    assert.equal(encoder.at(-1), '/tmp/job-1/audio.m4a');
    assert.equal(after(encoder, '-loglevel'), 'error');
  });
});

describe('allowedProtocols', () => {
  it('maps each scheme to itself plus its transports', () => {
    assert.deepEqual(allowedProtocols('http://x/a'), ['http', 'tcp']);
    assert.deepEqual(allowedProtocols('https://x/a'), ['https', 'tls', 'tcp']);
  });

  it('refuses everything else, naming what arrived', () => {
    assert.throws(() => allowedProtocols('ftp://x/a'), /"ftp"/);
  });
});

describe('needsSeeking', () => {
  it('is true only for containers that cannot be decoded front to back', () => {
    assert.equal(needsSeeking('mov'), true);
    assert.equal(needsSeeking('caf'), true);
    assert.equal(needsSeeking('mp3'), false);
    assert.equal(needsSeeking('ogg'), false);
  });
});
