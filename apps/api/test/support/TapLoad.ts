import * as Http from "node:http"

export interface LoadOutcome {
  readonly sent: number
  readonly served: number
  /** Answers other than the 302, by status (a balancer's 502/503 among them). */
  readonly refused: Record<string, number>
  /** Requests that failed without an answer, by error code (ECONNRESET, socket hang up, …). */
  readonly errors: Record<string, number>
  /** When each failure happened, in ms after the `onTap` action ran (negative: before it). */
  readonly failedAt: ReadonlyArray<{ readonly ms: number; readonly what: string }>
}

/**
 * A fixed-rate (open-loop) tap load on demo bands: a tap is sent when it is due, whether or not earlier ones
 * were answered, so a stall shows up as failures and not as a slower sender. Bounded in count and time.
 */
export const tapLoad = (options: {
  readonly port: number
  readonly rate: number
  readonly total: number
  readonly host?: string
  /** Called once, when tap number `at` is due. */
  readonly onTap?: { readonly at: number; readonly run: () => void }
}): Promise<LoadOutcome> => {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
  const refused: Record<string, number> = {}
  const errors: Record<string, number> = {}
  let served = 0
  let actedAt: number | undefined
  const failedAt: Array<{ ms: number; what: string }> = []
  const count = (into: Record<string, number>, key: string) => {
    into[key] = (into[key] ?? 0) + 1
    failedAt.push({ ms: Math.round(performance.now() - (actedAt ?? performance.now())), what: key })
  }
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const req = Http.request(
        {
          host: "127.0.0.1",
          port: options.port,
          agent,
          path: `/e?bandId=DEMO-${String((n % 1000) + 1).padStart(4, "0")}`,
          headers: {
            host: options.host ?? "demo.localhost",
            "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148"
          }
        },
        (res) => {
          res.resume()
          res.on("end", () => {
            if (res.statusCode === 302) served++
            else count(refused, String(res.statusCode))
            resolve()
          })
          res.on("error", (error) => {
            count(errors, (error as NodeJS.ErrnoException).code ?? error.message)
            resolve()
          })
        }
      )
      req.on("error", (error) => {
        count(errors, (error as NodeJS.ErrnoException).code ?? error.message)
        resolve()
      })
      req.setTimeout(20_000, () => req.destroy(new Error("timeout")))
      req.end()
    })
  return (async () => {
    const started = performance.now()
    const pending: Array<Promise<void>> = []
    for (let n = 0; n < options.total; n++) {
      const due = started + (n * 1000) / options.rate
      const wait = due - performance.now()
      if (wait > 1) await new Promise((r) => setTimeout(r, wait))
      if (options.onTap !== undefined && n === options.onTap.at) {
        actedAt = performance.now()
        options.onTap.run()
      }
      pending.push(one(n))
    }
    await Promise.all(pending)
    agent.destroy()
    return { sent: options.total, served, refused, errors, failedAt }
  })()
}

/** One tap of `bandId` on `host` (default the demo tenant's); resolves with the status. */
export const tapOnce = (
  agent: Http.Agent,
  port: number,
  bandId: string,
  options: { readonly host?: string; readonly method?: string; readonly userAgent?: string } = {}
) =>
  new Promise<number>((resolve, reject) => {
    const request = Http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: options.method ?? "GET",
        path: `/e?bandId=${encodeURIComponent(bandId)}`,
        headers: {
          host: options.host ?? "demo.localhost",
          "user-agent": options.userAgent ?? "Mozilla/5.0 (iPhone) Mobile/15E148"
        }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
      }
    )
    request.on("error", reject)
    request.setTimeout(20_000, () => request.destroy(new Error("timeout")))
    request.end()
  })
