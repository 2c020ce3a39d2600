import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

// The renderer: `npx vite build --config renderer/vite.config.ts` → renderer/dist/, served by
// `bindery serve` at / and loaded by Electron from its app protocol, hence relative asset URLs.
//
// Development against a running engine: `bindery serve` in one terminal, then
//   BINDERY_BRIDGE=http://127.0.0.1:<port> npx vite --config renderer/vite.config.ts
// and open http://localhost:5173/#token=<token>; /api and /media are proxied to the bridge.
const root = decodeURIComponent(new URL('.', import.meta.url).pathname).replace(/^\/([A-Za-z]:)/, '$1');

export default defineConfig(({ mode }) => {
  const bridge = loadEnv(mode, root, 'BINDERY_').BINDERY_BRIDGE;
  return {
    root,
    base: './',
    plugins: [react()],
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      // No inline scripts: the page runs under a strict CSP (script-src 'self').
      modulePreload: { polyfill: false },
      chunkSizeWarningLimit: 1024,
      rollupOptions: {
        onwarn(warning, warn) {
          // zod's sources carry /*#__PURE__*/ comments Rollup cannot place; harmless noise.
          if (warning.code === 'INVALID_ANNOTATION') return;
          warn(warning);
        },
      },
    },
    server: {
      fs: { allow: ['..'] },
      proxy: bridge
        ? {
            '/api/events': { target: bridge, ws: true, changeOrigin: true },
            '/api': { target: bridge, changeOrigin: true },
            '/media': { target: bridge, changeOrigin: true },
          }
        : undefined,
    },
  };
});
