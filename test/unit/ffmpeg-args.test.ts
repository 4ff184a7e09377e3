import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedProtocols, buildPipelinedTranscodeArgs, buildTranscodeArgs, needsSeeking } from '../../src/media/ffmpeg-args.js';

const URL_HTTP = 'http://127.0.0.1:9000/audio/uploads/abc?X-Amz-Signature=deadbeef';
const base = { inputUrl: URL_HTTP, demuxer: 'mp3', adtsPath: '/tmp/job-1/out.aac' };

/** The value following `flag`, at its n-th occurrence. */
function after(args: string[], flag: string, occurrence = 0): string | undefined {
  const positions = args.flatMap((arg, i) => (arg === flag ? [i] : []));
  const at = positions[occurrence];
  return at === undefined ? undefined : args[at + 1];
}

function count(args: string[], value: string): number {
  return args.filter((arg) => arg === value).length;
}

describe('buildTranscodeArgs', () => {
  const args = buildTranscodeArgs(base);
  const input = args.indexOf('-i');
  const outputs = [args.indexOf('/tmp/job-1/out.aac'), args.indexOf('pipe:1')];

  it('starts quiet and non-interactive, with a log level that still prints Duration', () => {
    assert.deepEqual(args.slice(0, 3), ['-hide_banner', '-nostdin', '-nostats']);
    assert.equal(after(args, '-loglevel'), 'info');
    assert.ok(args.includes('-xerror'));
  });

  it('has exactly one input: the URL, with the demuxer forced right before it', () => {
    assert.equal(count(args, '-i'), 1);
    assert.equal(args[input + 1], URL_HTTP);
    assert.deepEqual(args.slice(input - 2, input), ['-f', 'mp3']);
  });

  it('puts the protocol whitelist and I/O timeout among the input options', () => {
    const whitelist = args.indexOf('-protocol_whitelist');
    assert.ok(whitelist !== -1 && whitelist < input);
    assert.equal(args[whitelist + 1], 'http,tcp');
    assert.equal(after(args, '-rw_timeout'), '10000000');
    assert.ok(args.indexOf('-rw_timeout') < input);
    assert.equal(after(args, '-icy'), '0');
  });

  it('reads streaming containers as a stream, and lets MP4 seek and reconnect', () => {
    assert.equal(after(args, '-seekable'), '0');
    assert.ok(!args.includes('-reconnect'), 'a stream cannot resume, so no reconnect');
    const mov = buildTranscodeArgs({ ...base, demuxer: 'mov' });
    assert.ok(!mov.includes('-seekable'));
    assert.equal(after(mov, '-reconnect'), '1');
    assert.ok(mov.indexOf('-reconnect') < mov.indexOf('-i'));
    const forced = buildTranscodeArgs({ ...base, seekable: true });
    assert.ok(!forced.includes('-seekable') && forced.includes('-reconnect'));
  });

  it('runs the filter graph on one thread', () => {
    assert.equal(after(args, '-filter_complex_threads'), '1');
  });

  it('decodes once: one filter graph from the first audio stream, split in two', () => {
    assert.equal(count(args, '-filter_complex'), 1);
    const graph = after(args, '-filter_complex') ?? '';
    assert.match(graph, /^\[0:a:0\]aformat=sample_fmts=fltp:channel_layouts=mono,aresample=44100,asplit=2\[e\]\[p\]$/);
    assert.equal(after(args, '-map', 0), '[e]');
    assert.equal(after(args, '-map', 1), '[p]');
    assert.equal(count(args, '-map'), 2, 'no other stream (video, cover art) is mapped');
  });

  it('writes AAC-LC 64k mono 44.1 kHz as ADTS (no mov muxer index in memory) with no metadata first', () => {
    const aac = args.slice(args.indexOf('[e]'), outputs[0]! + 1);
    assert.equal(after(aac, '-c:a'), 'aac');
    assert.equal(after(aac, '-profile:a'), 'aac_low');
    assert.equal(after(aac, '-b:a'), '64k');
    assert.equal(after(aac, '-ac'), '1');
    assert.equal(after(aac, '-ar'), '44100');
    assert.equal(count(aac, '-movflags'), 0);
    assert.equal(after(aac, '-map_metadata'), '-1');
    assert.equal(after(aac, '-map_chapters'), '-1');
    assert.equal(aac.at(-2), 'adts');
    assert.equal(aac.at(-1), '/tmp/job-1/out.aac');
  });

  it('ends with the raw PCM output on stdout', () => {
    assert.equal(args.at(-1), 'pipe:1');
    assert.deepEqual(args.slice(-3), ['-f', 's16le', 'pipe:1']);
    const pcm = args.slice(outputs[0]! + 1);
    assert.equal(after(pcm, '-c:a'), 'pcm_s16le');
    assert.equal(after(pcm, '-ar'), '44100');
    assert.equal(after(pcm, '-flush_packets'), '0');
    assert.ok(outputs[0]! < outputs[1]!);
  });

  it('caps both outputs at the duration limit plus a margin', () => {
    const limited = buildTranscodeArgs({ ...base, maxDurationSeconds: 14_400 });
    assert.equal(count(limited, '-t'), 2);
    assert.equal(after(limited, '-t', 0), '14401');
    assert.equal(after(limited, '-t', 1), '14401');
    assert.ok(limited.indexOf('-t') > limited.indexOf('-i'), '-t is an output option here');
    assert.equal(count(args, '-t'), 0);
  });

  it('honours bitrate, sample rate and timeout options', () => {
    const custom = buildTranscodeArgs({ ...base, bitrateKbps: 96, sampleRate: 48_000, ioTimeoutSeconds: 2.5 });
    assert.equal(after(custom, '-b:a'), '96k');
    assert.match(after(custom, '-filter_complex') ?? '', /aresample=48000/);
    assert.equal(after(custom, '-rw_timeout'), '2500000');
    assert.ok(!buildTranscodeArgs({ ...base, exitOnError: false }).includes('-xerror'));
  });

  it('allows only the https stack for an https URL, and verifies its certificate', () => {
    const inputUrl = 'https://s3.example.com/b/k?sig=1';
    const https = buildTranscodeArgs({ ...base, inputUrl });
    assert.equal(after(https, '-protocol_whitelist'), 'https,tls,tcp');
    assert.equal(after(https, '-tls_verify'), '1');
    assert.ok(https.indexOf('-tls_verify') < https.indexOf('-i'));
    assert.ok(!https.includes('-ca_file'));
    const privateCa = buildTranscodeArgs({ ...base, inputUrl, caFile: '/etc/storage-ca.pem' });
    assert.equal(after(privateCa, '-ca_file'), '/etc/storage-ca.pem');
    assert.equal(after(buildTranscodeArgs({ ...base, inputUrl, verifyTls: false }), '-tls_verify'), '0');
    assert.throws(() => buildTranscodeArgs({ ...base, inputUrl, caFile: 'ca.pem' }), /caFile must be an absolute path/);
  });

  it('passes no TLS options for plain http (ffmpeg would reject them as unknown)', () => {
    assert.ok(!args.includes('-tls_verify'));
  });

  it('rejects a demuxer name that is not a plain identifier', () => {
    for (const demuxer of ['', 'MP3', 'hls,mp3', 'concat -i x', '-mp3', 'mp3\n']) {
      assert.throws(() => buildTranscodeArgs({ ...base, demuxer }), /demuxer must match/);
    }
  });

  it('rejects input URLs that are not http(s)', () => {
    for (const inputUrl of ['file:///etc/passwd', 'concat:a|b', '/tmp/x.mp3', 'ftp://h/x', 'data:,x', 'hls+http://h/x']) {
      assert.throws(() => buildTranscodeArgs({ ...base, inputUrl }), /http or https|absolute http/);
    }
  });

  it('rejects a relative output path and bad numbers', () => {
    assert.throws(() => buildTranscodeArgs({ ...base, adtsPath: '-y.aac' }), /absolute path/);
    assert.throws(() => buildTranscodeArgs({ ...base, adtsPath: 'pipe:1' }), /absolute path/);
    assert.throws(() => buildTranscodeArgs({ ...base, maxDurationSeconds: 0 }), /positive/);
    assert.throws(() => buildTranscodeArgs({ ...base, bitrateKbps: Number.NaN }), /positive/);
  });
});

describe('buildPipelinedTranscodeArgs', () => {
  const one = buildTranscodeArgs({ ...base, maxDurationSeconds: 600 });
  const { decoder, encoder } = buildPipelinedTranscodeArgs({ ...base, maxDurationSeconds: 600 });
  const upToGraph = (args: string[]) => args.slice(0, args.indexOf('-filter_complex') + 2);

  it('decodes exactly as the one-process transcode: same input options, same graph', () => {
    assert.deepEqual(upToGraph(decoder), upToGraph(one));
    assert.equal(count(decoder, '-i'), 1);
  });

  it('sends [e] to fd 3 as float PCM and [p] to stdout last, both capped at the limit', () => {
    const toEncoder = decoder.slice(decoder.indexOf('[e]'), decoder.indexOf('pipe:3') + 1);
    assert.equal(after(toEncoder, '-c:a'), 'pcm_f32le');
    assert.deepEqual(toEncoder.slice(-3), ['-f', 'f32le', 'pipe:3']);
    assert.equal(after(toEncoder, '-t'), '601');
    assert.deepEqual(decoder.slice(decoder.indexOf('pipe:3') + 1), one.slice(one.indexOf('/tmp/job-1/out.aac') + 1), 'the peaks output is unchanged');
    assert.ok(!decoder.includes('aac') && !decoder.includes('/tmp/job-1/out.aac'), 'no encoding in the decoder');
  });

  it('encodes stdin, read as mono float PCM at the output rate, with the one-process AAC settings', () => {
    const input = encoder.indexOf('-i');
    assert.equal(encoder[input + 1], 'pipe:0');
    assert.deepEqual(encoder.slice(input - 6, input), ['-f', 'f32le', '-ar', '44100', '-ac', '1']);
    assert.equal(count(encoder, '-i'), 1);
    const aac = (args: string[]) => args.slice(args.indexOf('-c:a', args.indexOf('[e]')), args.indexOf('-c:a', args.indexOf('[e]')) + 10);
    assert.deepEqual(encoder.slice(encoder.indexOf('-c:a'), encoder.indexOf('-c:a') + 10), aac(one));
    assert.deepEqual(encoder.slice(-3), ['-f', 'adts', '/tmp/job-1/out.aac']);
    assert.ok(encoder.includes('-xerror') && encoder.includes('-nostdin'));
    assert.ok(!encoder.some((arg) => arg.includes('127.0.0.1')), 'the encoder never sees the URL');
  });

  it('validates like the one-process builder', () => {
    assert.throws(() => buildPipelinedTranscodeArgs({ ...base, demuxer: 'hls,mp3' }), /demuxer must match/);
    assert.throws(() => buildPipelinedTranscodeArgs({ ...base, adtsPath: 'pipe:1' }), /absolute path/);
  });
});

describe('allowedProtocols', () => {
  it('maps each scheme to itself plus its transports', () => {
    assert.deepEqual(allowedProtocols('http://h/x'), ['http', 'tcp']);
    assert.deepEqual(allowedProtocols('HTTPS://h/x'), ['https', 'tls', 'tcp']);
  });

  it('refuses everything else, naming what arrived', () => {
    assert.throws(() => allowedProtocols('rtmp://h/x'), /got "rtmp"/);
    assert.throws(() => allowedProtocols('not a url'), /absolute http/);
  });
});

describe('needsSeeking', () => {
  it('is true only for containers that cannot be decoded front to back', () => {
    for (const demuxer of ['mov', 'mp4', 'caf']) assert.equal(needsSeeking(demuxer), true, demuxer);
    for (const demuxer of ['mp3', 'ogg', 'matroska', 'wav', 'flac', 'aac']) assert.equal(needsSeeking(demuxer), false, demuxer);
  });
});
