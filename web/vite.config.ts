import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run build:web` builds with this; `npx vite web` serves it for development beside `npm start`.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } } },
});
