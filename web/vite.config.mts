import path from 'node:path';
import { defineConfig } from 'vite';

/**
 * The dashboard, built into dist/web and served by PingBack itself (src/http/dashboard.ts).
 * `npm run dev:web` serves it with hot reload, the API proxied to a running PingBack.
 */
export default defineConfig({
  root: import.meta.dirname,
  // JSX is Preact's everywhere, the component tests outside web/ included.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    // Hashed names under /assets: cached for a year, a new build has new names.
    assetsDir: 'assets',
    // Every asset as a file: the Content-Security-Policy allows no inline data for scripts and styles.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/auth', '/widget', '/widget.js'].map((p) => [p, { target: process.env.PINGBACK_URL ?? 'http://127.0.0.1:3000', changeOrigin: false }]),
    ),
  },
  test: {
    environment: 'jsdom',
    include: ['../test/web/**/*.test.{ts,tsx}'],
    root: import.meta.dirname,
    setupFiles: ['../test/web/setup.ts'],
  },
} as any);
