// Builds the web app (index.html, served at `/`) and the GraphiQL explorer
// (explorer.html, served at GET /graphql to browsers) into dist/web, which
// src/server/web.ts serves. Everything, Monaco's workers included, is
// bundled: the explorer must work with no internet (contract).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  // Absolute asset URLs: explorer.html is served at /graphql, not at its own path.
  base: '/',
  plugins: [react()],
  // Workers must be ES modules: Monaco's code-split workers cannot be IIFE bundles.
  worker: { format: 'es' },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    // GraphiQL + Monaco are big by nature; they only load on the explorer page.
    chunkSizeWarningLimit: 6000,
    rolldownOptions: {
      input: { index: here('index.html'), explorer: here('explorer.html') },
      // GraphiQL's React-compiler "use no memo" directives: harmless when bundled, and many.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    // `npx vite --config web/vite.config.ts` during development: the API on :4000.
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
      '/dev': 'http://127.0.0.1:4000',
    },
  },
});
