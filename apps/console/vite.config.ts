import { defineConfig } from "vite"

/*
 * The console is served by the API at /console/ (hashed assets under /console/assets/). JSX through
 * esbuild's automatic runtime: no Babel plugin needed. @tapline/domain is bundled from its source.
 */
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic" },
  resolve: { conditions: ["@tapline/source", "module", "browser", "import", "default"] },
  // The first load (React, Effect, the typed client, the screens without charts) is one chunk of ~190 kB
  // gzipped, under the 250 kB budget; Live and Analytics with uPlot load when opened. Measured in docs/console.md.
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 700 }
})
