import { defineConfig } from 'vitest/config';

// Tests use real SQLite files, ONNX sessions, ffmpeg and Chromium, so they get generous timeouts
// and run in forks (native addons and worker_threads behave best in child processes).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
