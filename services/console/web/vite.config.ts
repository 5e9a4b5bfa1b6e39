// The page is built into dist/, which grid-console serves (--static-dir) under a strict CSP:
// no inline script, nothing from another origin. Vite's module preload polyfill is an inline-free
// module, and assets stay files (no data: URLs for scripts).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        manualChunks: { echarts: ['echarts/core', 'echarts/charts', 'echarts/components', 'echarts/renderers'] },
      },
    },
  },
  server: {
    // `npm run dev` against a running console: the API and the feed go to it.
    proxy: { '/api': 'http://127.0.0.1:7080', '/signin?': 'http://127.0.0.1:7080' },
  },
});
