// MP3s as old taggers and rippers leave them, and MP3s with other bytes
// appended, end DONE when their frames decode; only the re-encode is served.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMPLETE, prepareAndPut, startTestApp, waitForEnd, type TestApp } from '../helpers/app.js';
import { makeAudio, pseudoRandomBytes } from '../helpers/fixtures.js';
import { objectsOf } from '../helpers/waveform-reference.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const junk = (n: number) => latin1('Ripped with OldRipper 0.9 '.repeat(Math.ceil(n / 26)).slice(0, n));

/** An ID3v2.3 tag with one TIT2 frame and `padding` zero bytes inside its declared size. */
function id3v2(padding = 0): Buffer {
  const title = latin1('\0Old track');
  const frame = Buffer.concat([latin1('TIT2'), Buffer.from([0, 0, 0, title.length, 0, 0]), title]);
  const body = Buffer.concat([frame, Buffer.alloc(padding)]);
  const n = body.length;
  return Buffer.concat([latin1('ID3'), Buffer.from([3, 0, 0, (n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]), body]);
}
const id3v1 = () => Buffer.concat([latin1('TAG'), Buffer.alloc(30, 0x41), Buffer.alloc(30, 0x42), Buffer.alloc(30, 0x43), latin1('1999'), Buffer.alloc(30), Buffer.from([12])]);
function apeV2(): Buffer {
  const value = latin1('Some Artist');
  const item = Buffer.concat([Buffer.from([value.length, 0, 0, 0, 0, 0, 0, 0]), latin1('Artist\0'), value]);
  const footer = (flags: number) => {
    const b = Buffer.alloc(32);
    b.write('APETAGEX', 0, 'latin1');
    b.writeUInt32LE(2000, 8);
    b.writeUInt32LE(item.length + 32, 12);
    b.writeUInt32LE(1, 16);
    b.writeUInt32LE(flags, 20);
    return b;
  };
  return Buffer.concat([footer(0xa0000000), item, footer(0x80000000)]);
}
function lyrics3(): Buffer {
  const body = latin1('LYRICSBEGININD00003110LYR00011hello world');
  return Buffer.concat([body, latin1(String(body.length).padStart(6, '0')), latin1('LYRICS200')]);
}
/** A stand-in for an appended program: an ELF header, then code-like bytes. */
const elf = () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), pseudoRandomBytes(20_000, 7)]);

describe('MP3s with tags and junk around the frames', () => {
  let t: TestApp;
  let dir: string;
  let clean: Buffer;
  before(async () => {
    t = await startTestApp();
    dir = await mkdtemp(path.join(tmpdir(), 'mp3-tolerant-'));
    clean = await readFile(await makeAudio(dir, { kind: 'mp3', seconds: 3 }));
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function process(file: Buffer): Promise<{ id: string; asset: { status: string; url: string | null; error: { code: string } | null } }> {
    const id = await prepareAndPut(t, file, { filename: 'old.mp3', contentType: 'audio/mpeg' });
    const done = await t.gql(COMPLETE, { id });
    assert.equal(done.errors, undefined, JSON.stringify(done.errors));
    return { id, asset: await waitForEnd(t, id) };
  }

  const cases: [string, () => Buffer][] = [
    ['junk between the ID3v2 tag and the first frame', () => Buffer.concat([id3v2(), junk(1500), clean])],
    ['zeros after the ID3v2 tag', () => Buffer.concat([id3v2(), Buffer.alloc(2048), clean])],
    ['an ID3v2 tag with padding', () => Buffer.concat([id3v2(4096), clean])],
    ['junk before the first frame and no tag', () => Buffer.concat([junk(900), clean])],
    ['ID3v1, APE and Lyrics3 tags after the frames', () => Buffer.concat([id3v2(), clean, apeV2(), lyrics3(), id3v1()])],
    ['junk after the last frame', () => Buffer.concat([clean, junk(777)])],
  ];
  for (const [name, make] of cases) {
    it(`ends DONE for an MP3 with ${name}`, async () => {
      const { asset } = await process(make());
      assert.equal(asset.status, 'DONE', JSON.stringify(asset));
    });
  }

  it('ends DONE for an MP3 with an executable appended, and serves only the re-encode', async () => {
    const payload = elf();
    const { id, asset } = await process(Buffer.concat([id3v2(), clean, payload]));
    assert.equal(asset.status, 'DONE', JSON.stringify(asset));
    assert.deepEqual(objectsOf(await t.s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
    const served = Buffer.from(await (await fetch(asset.url!)).arrayBuffer());
    assert.equal(served.subarray(4, 8).toString('latin1'), 'ftyp');
    assert.equal(served.indexOf(payload.subarray(0, 64)), -1, 'the appended bytes are not in what is served');
  });

  // Tolerance is for bytes around frames that decode: a file whose frame
  // headers chain (the gate accepts it) but whose frames do not decode fails
  // (ffmpeg exits 69 when most packets fail).
  it('ends UNREADABLE_AUDIO for an MP3 whose frames do not decode, with nothing left', async () => {
    const header = Buffer.from([0xff, 0xfb, 0x90, 0x00]); // MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames
    const frames = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.concat([header, pseudoRandomBytes(413, i + 1)])));
    const { id, asset } = await process(Buffer.concat([id3v2(), frames]));
    assert.equal(asset.status, 'FAILED', JSON.stringify(asset));
    assert.equal(asset.error?.code, 'UNREADABLE_AUDIO', JSON.stringify(asset));
    assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
  });
});
