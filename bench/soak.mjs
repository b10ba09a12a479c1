// pnpm bench:soak — resident memory of Tapline and the bare baseline over a long constant load, side by side:
// both servers loaded at once by open-loop generators (2 000 req/s each by default) for SOAK_SECONDS (600),
// RSS sampled every 30 s. DESIGN.md §9: API resident memory flat over a 10-minute soak.
import { openLoop } from "./open-loop.mjs"
import { BANDS, bandPath, NODE_FLAGS, pinToLoadCore, startServers } from "./redirect-servers.mjs"
import { cleanup, memory, requireCommand, sleep } from "./support.mjs"

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600)
const RATE = Number(process.env.SOAK_RATE ?? 2000)
const SAMPLE_SECONDS = 30

const main = async () => {
  requireCommand("taskset", "util-linux")
  pinToLoadCore()
  const targets = await startServers("soak")
  const paths = Array.from({ length: BANDS }, (_, i) => bandPath(i))
  const load = (t, seconds) => openLoop({ port: t.port, host: "demo.localhost", paths, rate: RATE, seconds })
  // Warm-up, then a first sample: growth is measured from a warm process, not from start-up.
  await Promise.all(targets.map((t) => load(t, 10)))
  const samples = targets.map(() => [])
  const sample = () => {
    for (const [i, t] of targets.entries()) samples[i].push(memory(t.pid).rss)
  }
  sample()
  const runs = Promise.all(targets.map((t) => load(t, SECONDS)))
  let finished = false
  runs.then(() => {
    finished = true
  })
  for (let elapsed = SAMPLE_SECONDS; elapsed <= SECONDS && !finished; elapsed += SAMPLE_SECONDS) {
    await Promise.race([sleep(SAMPLE_SECONDS * 1000), runs])
    if (!finished) sample()
  }
  const results = await runs
  sample()

  console.log(
    `\nbench:soak — ${SECONDS} s at ${RATE} req/s on each server at once; RSS every ${SAMPLE_SECONDS} s (MB); node ${NODE_FLAGS}`
  )
  targets.forEach((t, i) => {
    const rss = samples[i]
    const half = Math.floor(rss.length / 2)
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
    const drift = mean(rss.slice(half)) - mean(rss.slice(0, half))
    const r = results[i]
    console.log(
      `${t.name.padEnd(9)} RSS first ${rss[0]}  last ${rss.at(-1)}  max ${Math.max(...rss)}  min ${Math.min(...rss)}  second half − first half ${drift.toFixed(1)}   p99 ${r.p99.toFixed(2)} ms  p99.9 ${r.p999.toFixed(2)} ms  errors ${r.errors}`
    )
    console.log(`          ${rss.join(" ")}`)
  })
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => cleanup())
