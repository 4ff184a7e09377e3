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
