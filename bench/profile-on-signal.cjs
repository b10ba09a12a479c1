// Preloaded into a benchmarked process (node --require bench/profile-on-signal.cjs) when BENCH_PROFILE_DIR is
// set: SIGUSR2 starts V8's CPU profiler, the next SIGUSR2 stops it and writes
// $BENCH_PROFILE_DIR/<pid>-<n>.cpuprofile. A bench profiles just its measured window that way, where
// --cpu-prof covers the whole life and needs a clean exit, which a bench's stop may not give.
const Fs = require("node:fs")
const Path = require("node:path")
const Inspector = require("node:inspector")

const dir = process.env.BENCH_PROFILE_DIR
if (dir) {
  const session = new Inspector.Session()
  session.connect()
  let running = false
  let n = 0
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true
      session.post("Profiler.enable", () => session.post("Profiler.start"))
      return
    }
    running = false
    session.post("Profiler.stop", (error, result) => {
      if (error) return process.stderr.write(`profile-on-signal: ${error.message}\n`)
      const file = Path.join(dir, `${process.pid}-${++n}.cpuprofile`)
      Fs.writeFileSync(`${file}.tmp`, JSON.stringify(result.profile))
      Fs.renameSync(`${file}.tmp`, file)
    })
  })
}
