// Small files with names that say what they do (STYLE.md): a source file
// that outgrows 300 lines holds more than one capability and is split.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const MAX_LINES = 300;
// Compiled to dist/test/unit: the sources are three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Written by GraphQL Code Generator, not by us. */
const GENERATED = path.join('src', 'generated');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return relative === GENERATED ? [] : sources(relative);
    return /\.tsx?$/.test(entry.name) ? [relative] : [];
  });
}

describe('source files', () => {
  it(`hold at most ${MAX_LINES} lines each`, () => {
    const files = [...sources('src'), ...sources(path.join('web', 'src'))];
    assert.ok(files.length > 50, `found only ${files.length} source files under ${ROOT}`);
    const long = files
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    assert.deepEqual(long, []);
  });
});
