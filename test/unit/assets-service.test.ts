// AssetsService.get: final assets from memory, everything else from the
// repository, and never something older than this node's own deletion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AssetRepository } from '../../src/db/asset.repository.js';
import type { AssetView } from '../../src/domain/asset.js';
import { AssetStatus } from '../../src/domain/asset-status.js';
import { AssetsService } from '../../src/services/assets.service.js';
import { TerminalAssetCache } from '../../src/services/terminal-asset-cache.js';
import type { Storage } from '../../src/storage/s3.js';

const ID = '0b7b1c5e-2a7c-4c5e-9a55-7f3f4b0d2e11';

function row(status: AssetStatus, ownerId = 'alice'): AssetView & { multipartUploadId: null } {
  return {
    id: ID,
    ownerId,
    status,
    filename: 'a.mp3',
    size: 10,
    contentType: 'audio/mpeg',
    detectedType: null,
    progress: null,
    durationSeconds: status === AssetStatus.DONE ? 3 : null,
    waveformLevels: null,
    errorCode: null,
    errorMessage: null,
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    multipartUploadId: null,
  };
}

/** A service over an in-memory table; its LISTEN is "up" but hears nothing (the worst case). */
function setup(initial: ReturnType<typeof row>) {
  const table = new Map([[initial.id, initial]]);
  let reads = 0;
  const repo = {
    findOwned: async (id: string, ownerId: string) => {
      reads++;
      const r = table.get(id);
      return r && r.ownerId === ownerId ? { ...r } : null;
    },
    deleteOwned: async (id: string, ownerId: string) => {
      const r = table.get(id);
      if (!r || r.ownerId !== ownerId) return null;
      table.delete(id);
      return r;
    },
  } as unknown as AssetRepository;
  const storage = {
    delete: async () => {},
    abortMultipart: async () => true,
    presignPublicGet: async () => 'u',
    listKeys: async function* () {},
  } as unknown as Storage;
  const cache = new TerminalAssetCache();
  cache.listening(true);
  const service = new AssetsService(repo, storage, { playbackUrlTtlSeconds: 86_400 }, cache);
  return { service, table, reads: () => reads };
}

describe('AssetsService.get', () => {
  it('reads a DONE asset once, then answers it from memory, to its owner only', async () => {
    const s = setup(row(AssetStatus.DONE));
    assert.equal((await s.service.get('alice', ID))?.status, AssetStatus.DONE);
    assert.equal((await s.service.get('alice', ID))?.status, AssetStatus.DONE);
    assert.equal((await s.service.get('alice', ID.toUpperCase()))?.id, ID);
    assert.equal(s.reads(), 1);
    assert.equal(await s.service.get('mallory', ID), null);
  });

  it('always reads assets that are not final yet', async () => {
    for (const status of [AssetStatus.AWAITING_UPLOAD, AssetStatus.QUEUED, AssetStatus.PROCESSING]) {
      const s = setup(row(status));
      await s.service.get('alice', ID);
      s.table.get(ID)!.status = AssetStatus.DONE;
      assert.equal((await s.service.get('alice', ID))?.status, AssetStatus.DONE, status);
      assert.equal(s.reads(), 2);
    }
  });

  it("does not answer from memory an asset this node deleted, before any event about it", async () => {
    const s = setup(row(AssetStatus.DONE));
    await s.service.get('alice', ID);
    assert.equal(await s.service.delete('alice', ID), true);
    assert.equal(await s.service.get('alice', ID), null);
  });

  it("does not cache another owner's miss as the asset", async () => {
    const s = setup(row(AssetStatus.FAILED));
    assert.equal(await s.service.get('mallory', ID), null);
    assert.equal((await s.service.get('alice', ID))?.status, AssetStatus.FAILED);
  });
});
