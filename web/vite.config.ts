// Builds the dashboard into web/dist, which the server serves at `/`.
// `npm run dev:web` proxies /api to a server started with `npm run dev`.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
  server: { proxy: { '/api': process.env.CCO_URL ?? 'http://127.0.0.1:3000' } },
});
