import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inputReadFailed, inputUrlOf, redactUrls } from '../../src/media/ffmpeg-stderr.js';
import { makeAudio } from '../helpers/fixtures.js';

const URL_ = 'http://127.0.0.1:9000/bucket/uploads/a?X-Amz-Signature=5e1f';

describe('inputReadFailed (pure)', () => {
  it('takes ffmpeg\'s line for the input URL with a transport reason', () => {
    for (const reason of ['Input/output error', 'Connection refused', 'Connection reset by peer', 'Connection timed out', 'Server returned 5XX Server Error reply', 'Server returned 403 Forbidden (access denied)']) {
      assert.equal(inputReadFailed(`[http @ 0x1] Stream ends prematurely at 1, should be 2\n${URL_}: ${reason}\n`, URL_), true, reason);
    }
  });

  it('is false for a reason that is the file\'s, and for transport words without the URL', () => {
    assert.equal(inputReadFailed(`${URL_}: Invalid data found when processing input\n`, URL_), false);
    assert.equal(inputReadFailed(`${URL_}: End of file\n`, URL_), false);
    // What a file can print: its own strings, any line but the one starting with a URL it cannot know.
    const forged = 'http://127.0.0.1:9000/bucket/uploads/a?X-Amz-Signature=0000: Input/output error\nConnection refused\n: Input/output error';
    assert.equal(inputReadFailed(forged, URL_), false);
    assert.equal(inputReadFailed('', URL_), false);
    assert.equal(inputReadFailed(`${URL_}: Input/output error`, ''), false);
  });

  it('finds the line when a file\'s text ran into it', () => {
    assert.equal(inputReadFailed(`[matroska @ 0x2] Unknown doctype "x"${URL_}: Input/output error\n`, URL_), true);
  });

  it('reads the input URL after -i', () => {
    assert.equal(inputUrlOf(['-f', 'ogg', '-i', URL_, 'out.m4a']), URL_);
    assert.equal(inputUrlOf(['-f', 'ogg']), '');
  });
});

/** ffmpeg's real stderr (input options as plan.ts gives them), against a server that serves, cuts or corrupts a file. */
describe('inputReadFailed on what the machine\'s ffmpeg prints', () => {
  let dir: string;
  let body: Buffer;
  let mp3: Buffer;
  let server: http.Server;
  let base: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ffmpeg-stderr-'));
    body = await readFile(await makeAudio(dir, { kind: 'ogg-opus', seconds: 30 }));
    mp3 = await readFile(await makeAudio(dir, { kind: 'mp3', seconds: 30 }));
    server = http.createServer((req, res) => {
      const file = req.url === '/cut.mp3' ? mp3 : body;
      res.writeHead(200, { 'content-length': file.length });
      if (req.url === '/cut' || req.url === '/cut.mp3') {
        res.write(file.subarray(0, file.length >> 1));
        setTimeout(() => req.socket.destroy(), 100);
      } else if (req.url === '/corrupt') {
        const bad = Buffer.from(file);
        for (let i = 4096; i < bad.length; i += 7) bad[i]! ^= 0x5a;
        res.end(bad);
      } else res.end(file);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const decode = (url: string, input = ['-f', 'ogg', '-xerror']) => new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-rw_timeout', '5000000', '-seekable', '0', ...input, '-i', url, '-f', 's16le', '-'],
      { maxBuffer: 64 << 20, encoding: 'buffer' }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr: stderr.toString() }));
  });

  it('tells a cut connection and a refused one from a corrupt file, all of which exit 1', async () => {
    const cut = await decode(`${base}/cut`);
    const refused = await decode('http://127.0.0.1:1/refused');
    const corrupt = await decode(`${base}/corrupt`);
    const whole = await decode(`${base}/whole`);
    assert.deepEqual([cut.code, refused.code, corrupt.code, whole.code], [1, 1, 1, 0]);
    assert.equal(inputReadFailed(cut.stderr, `${base}/cut`), true, cut.stderr);
    assert.equal(inputReadFailed(refused.stderr, 'http://127.0.0.1:1/refused'), true, refused.stderr);
    assert.equal(inputReadFailed(corrupt.stderr, `${base}/corrupt`), false, corrupt.stderr);
  });

  it('catches an MP3 cut at half, which ffmpeg (mp3 without -xerror) ends with exit 0 and half the audio', async () => {
    const cut = await decode(`${base}/cut.mp3`, ['-f', 'mp3']);
    assert.equal(cut.code, 0, cut.stderr);
    assert.equal(inputReadFailed(cut.stderr, `${base}/cut.mp3`), true, cut.stderr);
  });
});

const SIGNATURE = 'X-Amz-Signature=0123456789abcdef';

describe('redactUrls', () => {
  it('drops query strings, where presigned signatures live', () => {
    assert.equal(
      redactUrls(`Input #0, mp3, from 'http://127.0.0.1:9000/audio/uploads/x?X-Amz-Credential=a&${SIGNATURE}':`),
      "Input #0, mp3, from 'http://127.0.0.1:9000/audio/uploads/x?<redacted>':",
    );
    // ffmpeg's failed-read line keeps its colon and reason.
    assert.equal(
      redactUrls(`http://127.0.0.1:9000/audio/uploads/x?X-Amz-Credential=a&${SIGNATURE}: Connection reset by peer\nnext`),
      'http://127.0.0.1:9000/audio/uploads/x?<redacted>: Connection reset by peer\nnext',
    );
    assert.equal(redactUrls('no url here'), 'no url here');
    assert.equal(redactUrls(`...cut line &${SIGNATURE}&X-Amz-Date=1`), '...cut line &X-Amz-Signature=<redacted>&X-Amz-Date=1');
  });
});
