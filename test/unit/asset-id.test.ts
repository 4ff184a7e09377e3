import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAssetId, parseAssetId } from '../../src/domain/asset.js';
import { assetIdOfKey, opusHeaders, opusKey, outputKey, uploadKey } from '../../src/storage/keys.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('asset ids (one definition for resolvers, storage keys and cursors)', () => {
  it('takes a client id in any case and gives the canonical lower-case form', () => {
    assert.equal(parseAssetId(ID.toUpperCase()), ID);
    assert.equal(parseAssetId(ID), ID);
  });

  it('refuses anything that is not exactly a UUID', () => {
    for (const bad of ['', 'x', `${ID} `, ` ${ID}`, `${ID}0`, ID.replace(/-/g, ''), '../../etc/passwd', `${ID.slice(0, -1)}g`]) {
      assert.equal(parseAssetId(bad), null, bad);
      assert.equal(isAssetId(bad), false, bad);
    }
  });

  it('storage keys accept only canonical ids, and map back to them', () => {
    assert.equal(assetIdOfKey(uploadKey(ID)), ID);
    assert.equal(assetIdOfKey(outputKey(ID)), ID);
    assert.throws(() => uploadKey(ID.toUpperCase()), /not an asset id/);
    assert.throws(() => outputKey('../x'), /not an asset id/);
    assert.equal(assetIdOfKey(`uploads/${ID.toUpperCase()}`), null);
  });
});

describe('Opus rendition key', () => {
  it('is audio/<id>.ogg and is recognised as the asset\'s (so the sweep and deletion cover it)', () => {
    assert.equal(opusKey(ID), `audio/${ID}.ogg`);
    assert.equal(assetIdOfKey(opusKey(ID)), ID);
    assert.equal(assetIdOfKey(`audio/${ID}.ogg.m4a`), null);
    assert.equal(opusHeaders(ID).contentType, 'audio/ogg');
  });
});
