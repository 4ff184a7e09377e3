import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CONFIG_VARIABLES } from '../../src/config/config.js';
import { CONFIG_REFERENCE, renderConfigReference } from '../../src/config/reference.js';

describe('configuration reference', () => {
  it('documents every variable the config module reads, and nothing else', () => {
    assert.deepEqual(Object.keys(CONFIG_REFERENCE).sort(), [...CONFIG_VARIABLES].sort());
  });

  it('is what docs/configuration.md says (run `npm run config:docs` after a change)', () => {
    const committed = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    assert.equal(committed, renderConfigReference(CONFIG_VARIABLES));
  });
});
