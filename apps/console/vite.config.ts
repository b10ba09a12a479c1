import { defineConfig } from "vite"

/*
 * The console is served by the API at /console/ (hashed assets under /console/assets/). JSX through
 * esbuild's automatic runtime: no Babel plugin needed. @tapline/domain is bundled from its source.
 */
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic" },
  resolve: { conditions: ["@tapline/source", "module", "browser", "import", "default"] },
  // One chunk of ~160 kB gzipped (React, Effect and the typed client): under the 250 kB first-load budget.
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 600 }
})
