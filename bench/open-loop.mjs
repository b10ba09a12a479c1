// Constant-rate load: requests are scheduled on a fixed clock whatever the server does, and each latency is
// measured from its scheduled time, so a slow server cannot hide its stalls (no coordinated omission).
import * as Http from "node:http"
import * as hdr from "hdr-histogram-js"

/**
 * @param {{ port: number, host: string, paths: string[], rate: number, seconds: number }} options
 * @returns {Promise<{ sent: number, completed: number, errors: number, p50: number, p99: number, p999: number, max: number }>}
 */
export const openLoop = ({ port, host, paths, rate, seconds }) =>
  new Promise((resolve) => {
    const agent = new Http.Agent({ keepAlive: true, maxSockets: 256 })
    const histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3
    })
    const total = rate * seconds
    const intervalNs = 1e9 / rate
    const start = process.hrtime.bigint()
    let sent = 0
    let completed = 0
    let errors = 0
    const done = () => {
      if (completed + errors < total) return
      agent.destroy()
      const us = (q) => histogram.getValueAtPercentile(q) / 1000
      resolve({
        sent,
        completed,
        errors,
        p50: us(50),
        p99: us(99),
        p999: us(99.9),
        max: histogram.maxValue / 1000
      })
    }
    const fire = (scheduled) => {
      const req = Http.request(
        {
          host: "127.0.0.1",
          port,
          path: paths[sent % paths.length],
          agent,
          headers: { host, "user-agent": "Mozilla/5.0 (bench) Mobile" }
        },
        (res) => {
          res.resume()
          res.on("end", () => {
            histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - scheduled) / 1000n)))
            completed++
            done()
          })
        }
      )
      req.on("error", () => {
        errors++
        done()
      })
      req.end()
    }
    const tick = () => {
      const now = process.hrtime.bigint()
      // Catch up on every slot that is due, so a blocked event loop is paid for in latency, not skipped.
      while (sent < total) {
        const scheduled = start + BigInt(Math.round(sent * intervalNs))
        if (scheduled > now) break
        sent++
        fire(scheduled)
      }
      if (sent < total) setImmediate(tick)
    }
    tick()
  })
