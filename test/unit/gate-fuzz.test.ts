// Property-based fuzzing of the magic-byte gate (fast-check, bounded runs):
// random bytes, and random bytes behind real magic numbers, audio or not.
// gate.test.ts already covers decideFileType on arbitrary (ext, mime) pairs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ALLOWED_TYPES, GATE_MAX_READS, detectObjectFileType } from '../../src/media/gate.js';
import { detectFileType } from '../helpers/gate.js';

const RUNS = { numRuns: 400 };
const ALLOWED_MIMES = new Set(Object.values(ALLOWED_TYPES).flatMap((t) => t.mimes));
const DEMUXERS = new Set([...Object.values(ALLOWED_TYPES).map((t) => t.demuxer), 'mpc8']);

const b = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

/** Leading bytes of accepted containers: each may pass the gate, then the body is random. */
const AUDIO_MAGIC: Buffer[] = [
  b('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '), b('RF64', [0xff, 0xff, 0xff, 0xff], 'WAVE'), b('fLaC', [0, 0, 0, 0x22]),
  b('OggS', [0, 2], new Array(20).fill(0), 'OpusHead'), b('OggS', [0, 2], new Array(20).fill(0), '\x01vorbis'),
  b([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84], 'webm'), b([0, 0, 0, 0x20], 'ftypM4A ', [0, 0, 0, 0]),
  b([0, 0, 0, 0x18], 'ftypmp42'), b([0, 0, 0, 0x14], 'ftypqt  '), b('FORM', [0, 0, 0, 0x40], 'AIFF'), b('FORM', [0, 0, 0, 0x40], 'AIFC'),
  b('#!AMR\n'), b('#!AMR-WB\n'), b('caff', [0, 1, 0, 0]), b('wvpk'), b('MAC ', [0x96, 0x0f]), b('TTA1'), b('MPCK'), b('MP+', [7]),
  b([0xff, 0xfb, 0x90, 0x64]), b([0xff, 0xf1, 0x50, 0x80]), b([0x0b, 0x77]), b('ID3', [3, 0, 0, 0, 0, 0, 0x10], new Array(16).fill(0), [0xff, 0xfb, 0x90, 0x64]),
  b([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c]), b('DSD ', [0x1c, 0, 0, 0, 0, 0, 0, 0]),
  b('Creative Voice File\x1a'), b('RIFF', [0, 0, 0, 0], 'QLCMfmt '),
];

/** Leading bytes of things that must never pass, whatever follows. */
const HOSTILE_MAGIC: Buffer[] = [
  b('MZ'), b('\x7fELF', [2, 1, 1, 0]), b([0xca, 0xfe, 0xba, 0xbe]), b([0xcf, 0xfa, 0xed, 0xfe]), b('#!/bin/sh\n'), b('<?php '),
  b('%PDF-1.7\n'), b('PK\x03\x04'), b([0x89], 'PNG\r\n\x1a\n'), b([0xff, 0xd8, 0xff, 0xe0]), b('GIF89a'), b('<svg '), b('<!doctype html>'),
  b('#EXTM3U\n'), b('ffconcat version 1.0\n'), b([0x1f, 0x8b, 8, 0]), b('7z\xbc\xaf\x27\x1c'), b('Rar!\x1a\x07'), b('{"a":'),
  b('FORM', [0, 0, 0, 0x40], 'ILBM'), b('RIFF', [0, 0, 0, 0], 'AVI '), b('RIFF', [0, 0, 0, 0], 'WEBP'), b([0, 0, 0, 0x20], 'ftypM4P '),
  b([0, 0, 0, 0x20], 'ftypavif'), b([0, 0, 0, 0x20], 'ftypheic'), b([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
];

const body = fc.uint8Array({ maxLength: 5000 });

function assertSafe(d: Awaited<ReturnType<typeof detectFileType>>) {
  if (!d.ok) return;
  assert.ok(ALLOWED_MIMES.has(d.mime), d.mime);
  assert.ok(Object.hasOwn(ALLOWED_TYPES, d.ext) && ALLOWED_TYPES[d.ext]!.mimes.includes(d.mime), `${d.ext} ${d.mime}`);
  assert.ok(DEMUXERS.has(d.demuxer) && /^[a-z0-9_]+$/.test(d.demuxer), d.demuxer);
}

describe('the magic-byte gate (fuzz)', () => {
  it('never throws and never accepts a type off the allow-list, on random bytes', async () => {
    await fc.assert(fc.asyncProperty(body, async (bytes) => assertSafe(await detectFileType(bytes))), RUNS);
  });

  it('never throws and never accepts a type off the allow-list, on audio magic numbers followed by random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...AUDIO_MAGIC), body, async (magic, rest) => assertSafe(await detectFileType(Buffer.concat([magic, rest])))),
      RUNS,
    );
  });

  it('never accepts an executable, script, document, image, archive or playlist, whatever follows its magic number', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HOSTILE_MAGIC), body, async (magic, rest) => {
        const d = await detectFileType(Buffer.concat([magic, rest]));
        assert.equal(d.ok, false, `${JSON.stringify(magic.toString('latin1'))} + ${rest.length} bytes passed as ${JSON.stringify(d)}`);
      }),
      RUNS,
    );
  });

  it('reads at most GATE_MAX_READS ranges inside the object, whatever chain of ID3 headers it meets', async () => {
    const id3 = fc.record({ size: fc.nat(0x0fff_ffff), flags: fc.constantFrom(0, 0x10), major: fc.constantFrom(2, 3, 4) }).map(({ size, flags, major }) =>
      b('ID3', [major, 0, flags, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(id3, fc.uint8Array({ maxLength: 64 })), { maxLength: 6 }), body, async (chain, tail) => {
        const object = Buffer.concat([...chain.flatMap(([h, pad]) => [h, Buffer.from(pad)]), Buffer.from(tail)]);
        let reads = 0;
        const d = await detectObjectFileType(async (start, end) => {
          reads++;
          assert.ok(start >= 0 && start <= end && end < object.length, `read ${start}-${end} of ${object.length}`);
          return object.subarray(start, end + 1);
        }, object.length);
        assert.ok(reads <= GATE_MAX_READS, `${reads} reads`);
        assertSafe(d);
      }),
      RUNS,
    );
  });
});
