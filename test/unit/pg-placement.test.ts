import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ancestors, canTraverse, relocatedDataDir, ROOT_HOME } from '../../src/embedded/pg-placement.js';

const postgres = { uid: 101, gid: 104 };
const dir = (mode: number, uid = 0, gid = 0) => ({ mode: 0o040000 | mode, uid, gid });

describe('where root keeps the embedded PostgreSQL', () => {
  it('lists a path and its parents, root first', () => {
    assert.deepEqual(ancestors('/root/clone/.data'), ['/', '/root', '/root/clone', '/root/clone/.data']);
    assert.deepEqual(ancestors('/'), ['/']);
  });

  it('lets "postgres" through directories others may search, and its own or its group\'s', () => {
    assert.equal(canTraverse([dir(0o755), dir(0o755)], postgres), true);
    assert.equal(canTraverse([dir(0o755), dir(0o700)], postgres), false, 'a home directory of mode 0700');
    assert.equal(canTraverse([dir(0o755), dir(0o700, 101)], postgres), true, 'its own');
    assert.equal(canTraverse([dir(0o755), dir(0o750, 0, 104)], postgres), true, 'its group may search');
    // The owner's bits decide for the owner even when others may search.
    assert.equal(canTraverse([dir(0o605, 101)], postgres), false);
    assert.equal(canTraverse([dir(0o751, 0, 104), dir(0o711)], postgres), true);
  });

  it('keeps one data directory per clone under ROOT_HOME, the same one on every start', () => {
    const a = relocatedDataDir('/root/a/.data/postgres');
    assert.equal(a, relocatedDataDir('/root/a/.data/../.data/postgres'));
    assert.notEqual(a, relocatedDataDir('/root/b/.data/postgres'));
    assert.ok(a.startsWith(`${ROOT_HOME}/data/`) && a.endsWith('/postgres'));
  });
});
