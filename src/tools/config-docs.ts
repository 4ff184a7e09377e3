import { writeFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../config/config.js';
import { renderConfigReference } from '../config/reference.js';

// Writes docs/configuration.md from the config module (run from the project root).
writeFileSync('docs/configuration.md', renderConfigReference(CONFIG_VARIABLES));
console.log('wrote docs/configuration.md');
