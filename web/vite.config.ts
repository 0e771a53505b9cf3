// Vite builds src/ into dist/, which is committed and embedded in the
// binary (web/embed.go). Output names carry a content hash and nothing
// else varies between builds, so a fresh clone rebuilds the same bytes
// (make check-web compares them).
import { defineConfig } from "vite";

// The server `npm run dev` forwards API calls to (make run's default).
const api = process.env.GENZAI_URL ?? "http://localhost:8000";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No inline polyfill or data: URLs: the app's CSP allows files from
    // this origin only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "/api": api,
      "/v1": api,
    },
  },
});
