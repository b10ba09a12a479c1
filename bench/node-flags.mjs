// The V8 flags `pnpm start` runs the server with, read from package.json, so the benchmark measures the
// process as it is deployed.
import * as Fs from "node:fs"

const start = JSON.parse(Fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")).scripts.start
export const NODE_FLAGS_FOR_ONE_CPU = start
  .split(/\s+/)
  .filter((token) => token.startsWith("--"))
  .join(" ")
