// Builds the dashboard into dist/web, which the server serves at `/` (src/api/dashboard/routes.ts).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // the login's SigV4 signer is a separate chunk, loaded only when a sign-in is needed
    chunkSizeWarningLimit: 300,
  },
});
