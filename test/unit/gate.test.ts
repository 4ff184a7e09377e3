import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { ALLOWED_TYPES, GATE_HEAD_BYTES, decideFileType, detectObjectFileType, id3v2Size, type ReadRange } from '../../src/media/gate.js';
import { detectFileType } from '../helpers/gate.js';

const run = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const HAS_FFMPEG = existsSync(FFMPEG);
const ALLOWED_MIMES = new Set(Object.values(ALLOWED_TYPES).flatMap((t) => t.mimes));

const bytes = (...parts: (string | number[] | Uint8Array)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

/** An ID3v2.3 tag whose body is `body` bytes of padding. */
const id3Tag = (body: number): Buffer =>
  bytes('ID3', [3, 0, 0, (body >> 21) & 0x7f, (body >> 14) & 0x7f, (body >> 7) & 0x7f, body & 0x7f], new Uint8Array(body));

/** Ranged reads over a file, as the worker does them against storage, counting the calls. */
async function objectReader(path: string): Promise<{ read: ReadRange; size: number; reads: () => number; close: () => Promise<void> }> {
  const fh = await open(path);
  const { size } = await fh.stat();
  let calls = 0;
  const read: ReadRange = async (start, end) => {
    calls++;
    const buf = Buffer.alloc(end - start + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  };
  return { read, size, reads: () => calls, close: () => fh.close() };
}

describe('decideFileType', () => {
  it('rejects unknown bytes with no detected type', () => {
    assert.deepEqual(decideFileType(undefined), { ok: false, detected: null, reason: 'no known file type in the leading bytes' });
  });

  it('rejects a known type that is not an audio container, naming the detected mime', () => {
    const d = decideFileType({ ext: 'exe', mime: 'application/x-msdownload' });
    assert.equal(d.ok, false);
    assert.equal(!d.ok && d.detected, 'application/x-msdownload');
  });

  it('rejects an allowed ext paired with a mime it does not produce', () => {
    assert.equal(decideFileType({ ext: 'mp3', mime: 'text/html' }).ok, false);
    assert.equal(decideFileType({ ext: '__proto__', mime: 'audio/mpeg' }).ok, false);
  });

  it('names Musepack SV8 mpc8 and refuses IFF files that are not AIFF', () => {
    const mpc = { ext: 'mpc', mime: 'audio/x-musepack' };
    assert.deepEqual(decideFileType(mpc, bytes('MPCK')), { ok: true, ...mpc, demuxer: 'mpc8' });
    assert.deepEqual(decideFileType(mpc, bytes('MP+\x07')), { ok: true, ...mpc, demuxer: 'mpc' });
    const aif = { ext: 'aif', mime: 'audio/aiff' };
    assert.equal(decideFileType(aif, bytes('FORM\0\0\0\x10ILBM')).ok, false);
    assert.equal(decideFileType(aif, bytes('FORM\0\0\0\x10AIFC')).ok, true);
  });

  it('never accepts a mime outside the allow-list (property)', () => {
    const ext = fc.oneof(fc.constantFrom(...Object.keys(ALLOWED_TYPES), '__proto__', 'constructor', 'exe', 'png'), fc.string());
    const mime = fc.oneof(fc.constantFrom(...ALLOWED_MIMES, 'application/x-msdownload', 'image/png', 'text/html'), fc.string());
    fc.assert(
      fc.property(ext, mime, fc.uint8Array({ maxLength: 16 }), (e, m, head) => {
        const d = decideFileType({ ext: e, mime: m }, head);
        if (d.ok) {
          assert.ok(ALLOWED_MIMES.has(m));
          assert.ok(ALLOWED_TYPES[e]!.mimes.includes(m));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('id3v2Size', () => {
  it('is 0 without a tag, header + body with one, +10 for a v2.4 footer, -1 when malformed', () => {
    assert.equal(id3v2Size(bytes('fLaC')), 0);
    assert.equal(id3v2Size(id3Tag(300)), 310);
    assert.equal(id3v2Size(bytes('ID3', [4, 0, 0x10, 0, 0, 2, 0])), 10 + 256 + 10);
    assert.equal(id3v2Size(bytes('ID3', [3, 0, 0, 0x80, 0, 0, 0])), -1);
    assert.equal(id3v2Size(bytes('ID3', [0xff, 0, 0, 0, 0, 0, 0])), -1);
    assert.equal(id3v2Size(bytes('ID3', [3])), -1);
  });
});

describe('detectFileType rejects non-audio by its bytes', () => {
  const pe = Buffer.alloc(512);
  pe.write('MZ', 0, 'latin1');
  pe.writeUInt32LE(0x80, 0x3c);
  pe.write('PE\0\0', 0x80, 'latin1');
  pe.writeUInt16LE(0x8664, 0x84);
  let x = 2463534242;
  const random = Buffer.from(Array.from({ length: 8192 }, () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x & 0xff)));
  const cases: [string, Buffer][] = [
    ['a Windows executable (MZ + PE header)', pe],
    ['an ELF binary', bytes('\x7fELF', [2, 1, 1, 0], new Uint8Array(56))],
    ['a PNG image', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR', [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde])],
    ['a PDF', bytes('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n')],
    ['a ZIP archive', bytes('PK\x03\x04', [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0], 'a.txt')],
    ['a PHP script', bytes('<?php system($_GET["c"]); ?>\n')],
    ['a shell script', bytes('#!/bin/sh\nrm -rf /tmp/x\n')],
    ['an HTML page', bytes('<html><body><script>alert(1)</script></body></html>\n')],
    ['an SVG image', bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n')],
    ['an HLS playlist', bytes('#EXTM3U\n#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data/\n')],
    ['an ffconcat script', bytes("ffconcat version 1.0\nfile 'file:///etc/passwd'\n")],
    ['UTF-16 text with a byte-order mark (FF FE, an MPEG-1 layer I lookalike)', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello', 'utf16le')])],
    ['random bytes', random],
    ['an ID3 header claiming a huge tag, then PHP (file-type alone says mp3)', bytes('ID3', [3, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f], '<?php system($_GET["c"]); ?>')],
    ['a whole ID3 tag followed by HTML', bytes(id3Tag(100), '<html></html>')],
    ['a DRM-protected M4P (ftyp M4P)', bytes([0, 0, 0, 0x20], 'ftypM4P ', [0, 0, 0, 0], 'M4P mp42isom', new Uint8Array(8))],
    ['an empty file', Buffer.alloc(0)],
  ];
  for (const [name, head] of cases) {
    it(`rejects ${name}`, async () => {
      const d = await detectFileType(head);
      assert.equal(d.ok, false, JSON.stringify(d));
    });
  }

  it('names what it detected when it rejects a known non-audio type', async () => {
    assert.deepEqual(await detectFileType(pe), { ok: false, detected: 'application/x-msdownload', reason: 'application/x-msdownload is not an accepted audio container' });
  });
});

interface Sample {
  file: string;
  encoder: string | null; // null: hand-built
  /** Output options; all samples come from one ffmpeg run with one output per sample. */
  args: string[];
  ext: string;
  demuxer: string;
}

const SINE = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'];
const SAMPLES: Sample[] = [
  { file: 'bare.mp3', encoder: 'libmp3lame', args: ['-c:a', 'libmp3lame', '-id3v2_version', '0', '-write_xing', '0'], ext: 'mp3', demuxer: 'mp3' },
  { file: 'a.mp2', encoder: 'mp2', args: ['-c:a', 'mp2', '-f', 'mp2'], ext: 'mp2', demuxer: 'mp3' },
  { file: 'a.m4a', encoder: 'aac', args: ['-c:a', 'aac'], ext: 'm4a', demuxer: 'mov' },
  { file: 'a.mp4', encoder: 'aac', args: ['-c:a', 'aac', '-f', 'mp4'], ext: 'mp4', demuxer: 'mov' },
  { file: 'a.mov', encoder: 'aac', args: ['-c:a', 'aac', '-f', 'mov'], ext: 'mov', demuxer: 'mov' },
  { file: 'a.3gp', encoder: 'aac', args: ['-ar', '8000', '-c:a', 'aac', '-f', '3gp'], ext: '3gp', demuxer: 'mov' },
  { file: 'a.opus', encoder: 'libopus', args: ['-c:a', 'libopus', '-f', 'ogg'], ext: 'opus', demuxer: 'ogg' },
  { file: 'a.ogg', encoder: 'libvorbis', args: ['-c:a', 'libvorbis'], ext: 'ogg', demuxer: 'ogg' },
  { file: 'a.oga', encoder: 'flac', args: ['-c:a', 'flac', '-f', 'ogg'], ext: 'oga', demuxer: 'ogg' },
  { file: 'a.webm', encoder: 'libopus', args: ['-c:a', 'libopus'], ext: 'webm', demuxer: 'matroska' },
  { file: 'a.mka', encoder: 'flac', args: ['-c:a', 'flac'], ext: 'mkv', demuxer: 'matroska' },
  { file: 'a.wav', encoder: 'pcm_s16le', args: [], ext: 'wav', demuxer: 'wav' },
  { file: 'rf64.wav', encoder: 'pcm_s16le', args: ['-rf64', 'always'], ext: 'wav', demuxer: 'wav' },
  { file: 'a.w64', encoder: 'pcm_s16le', args: [], ext: 'w64', demuxer: 'w64' },
  { file: 'a.flac', encoder: 'flac', args: [], ext: 'flac', demuxer: 'flac' },
  { file: 'a.aiff', encoder: 'pcm_s16be', args: [], ext: 'aif', demuxer: 'aiff' },
  { file: 'a.caf', encoder: 'pcm_s16le', args: ['-c:a', 'pcm_s16le'], ext: 'caf', demuxer: 'caf' },
  { file: 'a.aac', encoder: 'aac', args: ['-c:a', 'aac', '-f', 'adts'], ext: 'aac', demuxer: 'aac' },
  { file: 'a.ac3', encoder: 'ac3', args: ['-c:a', 'ac3'], ext: 'ac3', demuxer: 'ac3' },
  { file: 'a.eac3', encoder: 'eac3', args: ['-c:a', 'eac3', '-f', 'eac3'], ext: 'ac3', demuxer: 'ac3' },
  { file: 'a.wma', encoder: 'wmav2', args: ['-c:a', 'wmav2'], ext: 'asf', demuxer: 'asf' },
  { file: 'a.wv', encoder: 'wavpack', args: ['-c:a', 'wavpack'], ext: 'wv', demuxer: 'wv' },
  { file: 'a.tta', encoder: 'tta', args: ['-c:a', 'tta'], ext: 'tta', demuxer: 'tta' },
  { file: 'a.voc', encoder: 'pcm_u8', args: ['-c:a', 'pcm_u8'], ext: 'voc', demuxer: 'voc' },
  // Debian's ffmpeg has no AMR encoder (libopencore-amrnb/vo-amrwbenc are not built in): hand-built
  // files of 50 silent-payload frames, 12.2 kbit/s (NB) and 23.85 kbit/s (WB).
  { file: 'a.amr', encoder: null, args: [], ext: 'amr', demuxer: 'amr' },
  { file: 'wb.amr', encoder: null, args: [], ext: 'amr', demuxer: 'amr' },
];

describe('detectObjectFileType accepts real audio heads', { skip: !HAS_FFMPEG && `no ffmpeg at ${FFMPEG}` }, () => {
  let dir = '';
  let encoders = '';
  /** Bytes of PCM ffmpeg decoded from each sample with its demuxer forced, or its error. */
  const decoded = new Map<string, number | string>();
  const ffmpeg = (...args: string[]) => run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gate-test-'));
    encoders = (await run(FFMPEG, ['-hide_banner', '-encoders'])).stdout;
    await writeFile(join(dir, 'a.amr'), bytes('#!AMR\n', ...Array(50).fill(bytes([0x3c], new Uint8Array(31)))));
    await writeFile(join(dir, 'wb.amr'), bytes('#!AMR-WB\n', ...Array(50).fill(bytes([0x44], new Uint8Array(60)))));
    const available = SAMPLES.filter((s) => !s.encoder || hasEncoder(s.encoder));
    await ffmpeg(...SINE, ...available.filter((s) => s.encoder).flatMap((s) => [...s.args, join(dir, s.file)]));
    // One ffmpeg decodes every sample (an input each, demuxer forced, one output each); if it fails, decode one by one to say which.
    const input = (s: Sample) => ['-f', s.demuxer, '-i', join(dir, s.file)];
    const output = (s: Sample, i: number) => ['-map', `${i}:a`, '-ac', '1', '-f', 's16le', join(dir, `${s.file}.pcm`)];
    const all = await ffmpeg(...available.flatMap(input), ...available.flatMap(output)).then(() => null, (e: Error) => e.message);
    for (const s of available) {
      const error = all === null ? null : await ffmpeg(...input(s), ...output(s, 0)).then(() => null, (e: Error) => e.message);
      decoded.set(s.file, error ?? (await stat(join(dir, `${s.file}.pcm`))).size);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const hasEncoder = (name: string) => new RegExp(`^ \\S+ ${name} `, 'm').test(encoders);

  for (const s of SAMPLES) {
    it(`accepts ${s.file} as ${s.ext} and ffmpeg decodes it with -f ${s.demuxer}`, async (t) => {
      if (s.encoder && !hasEncoder(s.encoder)) return t.skip(`this ffmpeg has no ${s.encoder} encoder`);
      const path = join(dir, s.file);
      const obj = await objectReader(path);
      try {
        const d = await detectObjectFileType(obj.read, obj.size);
        assert.deepEqual(d.ok && { ext: d.ext, demuxer: d.demuxer }, { ext: s.ext, demuxer: s.demuxer }, JSON.stringify(d));
        assert.equal(obj.reads(), 1);
      } finally {
        await obj.close();
      }
      const out = decoded.get(s.file);
      assert.ok(typeof out === 'number' && out >= 2 * 8000 * 0.9, `ffmpeg -f ${s.demuxer} did not decode ~1 s: ${out}`);
    });
  }

  it('reads past an ID3 tag larger than the first read (cover art) with one more ranged read', async (t) => {
    if (!hasEncoder('libmp3lame') || !hasEncoder('png')) return t.skip('no libmp3lame or png encoder');
    const cover = join(dir, 'cover.png');
    const mp3 = join(dir, 'cover.mp3');
    // Noise compresses badly, so the PNG (and the ID3 APIC frame holding it) is well over 64 KiB.
    await ffmpeg('-f', 'lavfi', '-i', 'color=s=256x256,noise=alls=100:allf=t', '-frames:v', '1', cover);
    await ffmpeg(...SINE, '-i', cover, '-map', '0:a', '-map', '1:v', '-c:a', 'libmp3lame', '-c:v', 'copy', '-disposition:v', 'attached_pic', '-id3v2_version', '3', mp3);
    const whole = await readFile(mp3);
    assert.ok(id3v2Size(whole) > GATE_HEAD_BYTES, `tag is ${id3v2Size(whole)} bytes`);
    const obj = await objectReader(mp3);
    try {
      assert.deepEqual(await detectObjectFileType(obj.read, obj.size).then((d) => d.ok && { ok: d.ok, ext: d.ext, mime: d.mime, demuxer: d.demuxer }), { ok: true, ext: 'mp3', mime: 'audio/mpeg', demuxer: 'mp3' });
      assert.equal(obj.reads(), 2);
    } finally {
      await obj.close();
    }
    // Only the first read's bytes: the tag runs past them, so nothing is accepted on faith.
    assert.equal((await detectFileType(whole.subarray(0, GATE_HEAD_BYTES))).ok, false);
  });

  it('skips chained ID3 tags, one small and one large, before the audio', async (t) => {
    if (!hasEncoder('libmp3lame')) return t.skip('no libmp3lame encoder');
    const chained = join(dir, 'chained.mp3');
    await writeFile(chained, Buffer.concat([id3Tag(200), id3Tag(100_000), await readFile(join(dir, 'bare.mp3'))]));
    const obj = await objectReader(chained);
    try {
      assert.equal((await detectObjectFileType(obj.read, obj.size)).ok, true);
      assert.equal(obj.reads(), 2);
    } finally {
      await obj.close();
    }
  });
});
