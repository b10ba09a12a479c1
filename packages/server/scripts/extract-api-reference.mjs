// Writes the API reference viewer (Scalar's standalone script, as @effect/platform ships it inside a module)
// to dist/static/api-reference.js, so the server streams it from disk: no CDN, and not a 3 MB string on its heap.
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)
const platform = Path.dirname(require.resolve("@effect/platform/package.json"))
const source = Fs.readFileSync(Path.join(platform, "dist/esm/internal/httpApiScalar.js"), "utf8")
// `export const javascript="…";`: the literal is JSON-compatible; parsed once here, at build time.
const start = source.indexOf('="')
const end = source.lastIndexOf('"')
if (start < 0 || end <= start) throw new Error("@effect/platform's httpApiScalar.js changed shape")
const script = JSON.parse(source.slice(start + 1, end + 1))
const target = fileURLToPath(new URL("../dist/static/api-reference.js", import.meta.url))
Fs.mkdirSync(Path.dirname(target), { recursive: true })
Fs.writeFileSync(target, script)
console.log(`api reference viewer: ${target} (${(script.length / 1024 / 1024).toFixed(1)} MB)`)
