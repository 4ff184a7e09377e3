import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/domain/errors.js';
import { isAcceptedContentType, validateBars, validateUploadRequest } from '../../src/domain/upload-policy.js';
import { assetIdOfKey, outputKey, uploadKey } from '../../src/storage/keys.js';

const ok = { filename: 'a.mp3', size: 10, contentType: 'audio/mpeg' };
const code = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    return e instanceof ApiError ? e.code : 'other';
  }
  return 'none';
};

describe('upload policy', () => {
  it('accepts audio/* and the container types phones and browsers report', () => {
    for (const t of ['audio/mpeg', 'audio/x-m4a', 'audio/webm; codecs=opus', 'AUDIO/WAV', 'video/mp4', 'video/webm', 'video/ogg', 'application/ogg', 'application/octet-stream']) {
      assert.equal(isAcceptedContentType(t), true, t);
    }
  });

  it('refuses everything else', () => {
    for (const t of ['text/html', 'image/svg+xml', 'application/x-msdownload', 'video/quicktime', 'audio', 'audio/', 'application/vnd.apple.mpegurl', '']) {
      assert.equal(isAcceptedContentType(t), false, t);
    }
  });

  it('validates filename, size and type with BAD_USER_INPUT', () => {
    assert.equal(code(() => validateUploadRequest(ok, 100)), 'none');
    assert.equal(code(() => validateUploadRequest({ ...ok, filename: '  ' }, 100)), 'BAD_USER_INPUT');
    assert.equal(code(() => validateUploadRequest({ ...ok, filename: 'é'.repeat(255) }, 100)), 'none');
    assert.equal(code(() => validateUploadRequest({ ...ok, filename: 'é'.repeat(256) }, 100)), 'BAD_USER_INPUT');
    assert.equal(code(() => validateUploadRequest({ ...ok, size: 0 }, 100)), 'BAD_USER_INPUT');
    assert.equal(code(() => validateUploadRequest({ ...ok, size: 101 }, 100)), 'BAD_USER_INPUT');
    assert.equal(code(() => validateUploadRequest({ ...ok, size: 1.5 }, 100)), 'BAD_USER_INPUT');
    assert.equal(code(() => validateUploadRequest({ ...ok, contentType: 'text/plain' }, 100)), 'BAD_USER_INPUT');
  });

  it('refuses filenames holding control characters (C0, DEL, C1) or bidi overrides and isolates', () => {
    for (const name of ['a\u0000.mp3', 'a\n.mp3', 'a\r\nX-Forged: 1.mp3', 'a\t.mp3', 'a\u001b[31m.mp3', 'a\u007f.mp3', 'a\u0085.mp3', 'a\u009b.mp3', 'evil\u202Egpj.exe', 'a\u202A.mp3', 'a\u202D.mp3', 'a\u2066b\u2069.mp3', 'a\u2068.mp3']) {
      assert.equal(code(() => validateUploadRequest({ ...ok, filename: name }, 100)), 'BAD_USER_INPUT', JSON.stringify(name));
    }
    // Real names in any script stay accepted, right-to-left marks included.
    for (const name of ['voice note (1).m4a', 'Aufnahme – März.mp3', 'שיר\u200F.mp3', 'تسجيل.ogg', '録音 🎙.wav', 'a\u00a0b.mp3']) {
      assert.equal(code(() => validateUploadRequest({ ...ok, filename: name }, 100)), 'none', JSON.stringify(name));
    }
  });

  it('refuses content types whose parameters are malformed or not printable ASCII', () => {
    for (const t of ['audio/mpeg; name="日本"', 'audio/mpeg; x=é', 'audio/mpeg;\r\nX-Amz-Acl: public-read', 'audio/mpeg; a', 'audio/mpeg; =x', 'audio/mpeg; a="unterminated', 'audio/mpeg\u0000', `audio/mpeg; x=${'a'.repeat(300)}`]) {
      assert.equal(isAcceptedContentType(t), false, JSON.stringify(t));
      assert.equal(code(() => validateUploadRequest({ ...ok, contentType: t }, 100)), 'BAD_USER_INPUT', JSON.stringify(t));
    }
    for (const t of ['audio/webm;codecs=opus', 'audio/webm; codecs="opus"', 'audio/ogg ; codecs=vorbis', 'audio/mpeg;', 'audio/mp4; codecs="mp4a.40.2"']) {
      assert.equal(isAcceptedContentType(t), true, t);
    }
  });

  it('answers any filename and content type with BAD_USER_INPUT or nothing (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (filename, contentType) => {
        assert.ok(['none', 'BAD_USER_INPUT'].includes(code(() => validateUploadRequest({ filename, size: 10, contentType }, 100))));
      }),
      { numRuns: 500 },
    );
  });

  it('takes bars from 1 to 1024 only', () => {
    for (const b of [1, 64, 1024]) assert.equal(code(() => validateBars(b)), 'none');
    for (const b of [0, -1, 1025, 2.5]) assert.equal(code(() => validateBars(b)), 'BAD_USER_INPUT');
  });

  it('builds storage keys from the asset id only, and refuses anything else', () => {
    const id = '0b3e1c2a-1111-4222-8333-444455556666';
    assert.equal(uploadKey(id), `uploads/${id}`);
    assert.equal(outputKey(id), `audio/${id}.m4a`);
    assert.equal(assetIdOfKey(uploadKey(id)), id);
    assert.equal(assetIdOfKey(outputKey(id)), id);
    assert.equal(assetIdOfKey('uploads/../../etc/passwd'), null);
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const key = uploadKey(s);
          assert.match(key, /^uploads\/[0-9a-f-]{36}$/);
        } catch (e) {
          assert.match(String(e), /not an asset id/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
