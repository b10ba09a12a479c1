import * as Http from "node:http"
import { type RunningServer, startServer, waitUntilReady } from "./ServerProcess.js"

/*
 * What the tap-loss tests share (Durability, Durability.faults, JournalFullDisk, WorkerStop): a tap whose
 * request number rides in utm_content, so a test knows exactly which requests were stored, and the processes
 * of one run started on one environment and stopped together.
 */

export type Outcome = "served" | "refused" | "lost"

/**
 * Tap number `n`, on demo band (n mod `bands`) + 1; "served" when the client received the 302, "lost" when the
 * connection failed without an answer.
 */
export const numberedTap = (agent: Http.Agent, port: number, n: number, bands = 1000) =>
  new Promise<Outcome>((resolve) => {
    const req = Http.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        path: `/e?bandId=DEMO-${String((n % bands) + 1).padStart(4, "0")}&utm_content=${n}`,
        headers: { host: "demo.localhost", "user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148" }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode === 302 ? "served" : "refused"))
        res.on("error", () => resolve("lost"))
      }
    )
    req.on("error", () => resolve("lost"))
    req.setTimeout(5000, () => req.destroy())
    req.end()
  })

/** Processes started on `env` (plus each one's own), each awaited ready; `stopAll` for the `finally`. */
export const processGroup = (env: Record<string, string>) => {
  const processes: Array<RunningServer> = []
  return {
    processes,
    launch: async (extra: Record<string, string>) => {
      const server = await startServer({ ...env, ...extra })
      processes.push(server)
      await waitUntilReady(server)
      return server
    },
    stopAll: () => Promise.all(processes.map((p) => p.stop()))
  }
}
