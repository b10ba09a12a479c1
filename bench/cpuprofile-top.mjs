// node bench/cpuprofile-top.mjs A.cpuprofile [B.cpuprofile] [--top N] [--per REQUESTS_A,REQUESTS_B]
// Self time of a V8 CPU profile (node --cpu-prof) summed by function and file, biggest first; with two
// profiles, both side by side and their difference, so where one process spends more shows at the top.
// --per divides each profile's times by its request count (µs per request instead of ms).
import * as Fs from "node:fs"

const args = process.argv.slice(2)
const flag = (name) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args.splice(i, 2)[1]
}
const top = Number(flag("--top") ?? 25)
const per = flag("--per")?.split(",").map(Number)
const files = args

/** Self milliseconds by "function file:line", from the samples' time deltas. */
const selfTimes = (file) => {
  const profile = JSON.parse(Fs.readFileSync(file, "utf8"))
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const byKey = new Map()
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame
    const where =
      url === ""
        ? ""
        : ` ${url.replace(/^.*node_modules\//, "~/").replace(/^file:\/\/.*\/dist\//, "dist/")}:${lineNumber + 1}`
    const key = `${functionName || "(anonymous)"}${where}`
    byKey.set(key, (byKey.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  })
  const seconds = (profile.endTime - profile.startTime) / 1e6
  return { byKey, seconds }
}

const profiles = files.map(selfTimes)
const scale = (j) => (per ? 1000 / per[j] : 1)
const unit = per ? "µs/req" : "ms"
const busy = (p) => [...p.byKey].filter(([k]) => k !== "(idle)").reduce((s, [, v]) => s + v, 0)
for (const [j, p] of profiles.entries()) {
  const notIdle = (busy(p) * scale(j)).toFixed(1)
  console.log(`${files[j]}: ${p.seconds.toFixed(1)} s profiled, ${notIdle} ${unit} not idle`)
}
const keys = new Set(profiles.flatMap((p) => [...p.byKey.keys()]))
const rows = [...keys].map((k) => ({ k, v: profiles.map((p, j) => (p.byKey.get(k) ?? 0) * scale(j)) }))
const order = (r) => (r.v.length === 2 ? Math.abs(r.v[0] - r.v[1]) : r.v[0])
rows.sort((a, b) => order(b) - order(a))
for (const r of rows.slice(0, top)) {
  const cols = r.v.map((x) => x.toFixed(1).padStart(9)).join(" ")
  const diff = r.v.length === 2 ? (r.v[0] - r.v[1]).toFixed(1).padStart(9) : ""
  console.log(`${cols} ${diff}  ${r.k}`)
}
