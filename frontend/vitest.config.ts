import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/sync/__tests__/setup.ts'],
    environment: 'node',
  },
});
