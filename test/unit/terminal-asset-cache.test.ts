// DONE/FAILED assets kept in the API process: only final rows, only while the
// LISTEN connection is up, never resurrected by a read that raced a deletion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AssetView } from '../../src/domain/asset.js';
import { AssetStatus } from '../../src/domain/asset-status.js';
import { TerminalAssetCache } from '../../src/services/terminal-asset-cache.js';

const ID = '0b7b1c5e-2a7c-4c5e-9a55-7f3f4b0d2e11';

function asset(status: AssetStatus, version = 1, over: Partial<AssetView> = {}): AssetView {
  return {
    id: ID,
    ownerId: 'alice',
    status,
    filename: 'a.mp3',
    size: 10,
    contentType: 'audio/mpeg',
    detectedType: null,
    progress: status === AssetStatus.DONE ? 1 : null,
    durationSeconds: status === AssetStatus.DONE ? 12.5 : null,
    waveformLevels: null,
    errorCode: null,
    errorMessage: null,
    version,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...over,
  };
}

function live(o: ConstructorParameters<typeof TerminalAssetCache>[0] = {}) {
  const c = new TerminalAssetCache(o);
  c.listening(true);
  return c;
}

/** A database read the test finishes when it wants: the row it returns, at that moment. */
function pendingRead(c: TerminalAssetCache, id = ID) {
  let finish!: (a: AssetView | null) => void;
  const result = c.load(id, () => new Promise<AssetView | null>((r) => (finish = r)));
  return { result, finish: (a: AssetView | null) => (finish(a), result) };
}

const read = (c: TerminalAssetCache, a: AssetView) => c.load(a.id, async () => a);

describe('TerminalAssetCache', () => {
  it('keeps DONE and FAILED rows from reads and events, and nothing else', async () => {
    const c = live();
    for (const s of [AssetStatus.AWAITING_UPLOAD, AssetStatus.QUEUED, AssetStatus.PROCESSING]) {
      await read(c, asset(s));
      c.changed(asset(s));
      assert.equal(c.get(ID), undefined, s);
    }
    await read(c, asset(AssetStatus.DONE, 4));
    assert.equal(c.get(ID)?.version, 4);
    c.deleted(ID);
    c.changed(asset(AssetStatus.FAILED, 5));
    assert.equal(c.get(ID)?.status, AssetStatus.FAILED);
  });

  it('forgets a deleted asset, and a read that began before the deletion does not bring it back', async () => {
    const c = live();
    c.changed(asset(AssetStatus.DONE, 3));
    const r = pendingRead(c);
    c.deleted(ID);
    assert.equal(c.get(ID), undefined);
    assert.equal((await r.finish(asset(AssetStatus.DONE, 3)))?.version, 3, 'the read still answers its own caller');
    assert.equal(c.get(ID), undefined, 'but the read raced the deletion: not kept');
    await read(c, asset(AssetStatus.DONE, 3));
    assert.equal(c.get(ID)?.version, 3, 'a read after it is kept');
  });

  it('lets reads of other ids be kept while events about one id arrive', async () => {
    const c = live();
    const r = pendingRead(c);
    for (let i = 0; i < 10; i++) c.changed(asset(AssetStatus.PROCESSING, i, { id: `other-${i}` }));
    c.deleted('another-id');
    await r.finish(asset(AssetStatus.DONE, 2));
    assert.equal(c.get(ID)?.version, 2);
  });

  it('keeps the newest version when a read and an event cross', async () => {
    const c = live();
    const r = pendingRead(c);
    c.changed(asset(AssetStatus.DONE, 6));
    await r.finish(asset(AssetStatus.DONE, 5));
    assert.equal(c.get(ID)?.version, 6);
  });

  it('drops a row that an event says is no longer final, and reads that raced it', async () => {
    const c = live();
    c.changed(asset(AssetStatus.DONE, 3));
    const r = pendingRead(c);
    c.changed(asset(AssetStatus.PROCESSING, 4));
    assert.equal(c.get(ID), undefined);
    await r.finish(asset(AssetStatus.DONE, 3));
    assert.equal(c.get(ID), undefined);
  });

  it('serves and keeps nothing while the LISTEN connection is down, and starts empty when it is back', async () => {
    const c = live();
    c.changed(asset(AssetStatus.DONE));
    const before = pendingRead(c);
    c.listening(false);
    assert.equal(c.get(ID), undefined);
    await read(c, asset(AssetStatus.DONE));
    const during = pendingRead(c);
    c.listening(true);
    assert.equal(c.get(ID), undefined, 'whatever was kept before the outage is gone');
    await before.finish(asset(AssetStatus.DONE));
    await during.finish(asset(AssetStatus.DONE));
    assert.equal(c.size, 0, 'reads that overlapped the outage are not kept');
  });

  it('forgets a read that failed, and keeps nothing from it', async () => {
    const c = live();
    await assert.rejects(c.load(ID, async () => Promise.reject(new Error('db down'))), /db down/);
    assert.equal(c.size, 0);
    await read(c, asset(AssetStatus.DONE));
    assert.ok(c.get(ID));
  });

  it('reads the row again after maxAgeMs', () => {
    const clock = { ms: 0 };
    const c = live({ maxAgeMs: 1000, now: () => clock.ms });
    c.changed(asset(AssetStatus.DONE));
    clock.ms = 999;
    assert.ok(c.get(ID));
    clock.ms = 1000;
    assert.equal(c.get(ID), undefined);
  });

  it('holds at most maxEntries assets', () => {
    const c = live({ maxEntries: 2 });
    for (let i = 0; i < 5; i++) c.changed(asset(AssetStatus.DONE, 1, { id: `id-${i}` }));
    assert.equal(c.size, 2);
    assert.ok(c.get('id-4') && c.get('id-3') && !c.get('id-0'));
  });
});
