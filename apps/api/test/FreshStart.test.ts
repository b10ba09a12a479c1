import { spawn } from "node:child_process"
import * as Net from "node:net"
import * as Os from "node:os"
import { startRedisCluster } from "@tapline/testing/redisCluster"
import { afterAll, describe, expect, it } from "vitest"
import { createDatabase } from "./support/Peers.js"
import { type RunningServer, startServer, stopCleanly, waitUntilReady } from "./support/ServerProcess.js"

/*
 * Issue 27: a freshly started API on Redis Cluster answered some of its first taps with the organisation's
 * website or the default URL instead of the live window. A balancer sends traffic the moment /health/ready
 * says 200, so that is when the taps are fired here, all at once, each on a band not looked up before.
 */

const LIVE = "https://example.com/demo/live"
const TAPS = 600
const ROUNDS = Number(process.env.FRESH_START_ROUNDS ?? "2")
/** Busy processes beside the API while the taps come in (FRESH_START_BURNERS; default one per core but one). */
const BURNERS = Number(process.env.FRESH_START_BURNERS ?? String(Math.max(1, Os.cpus().length - 1)))

const figures: Array<string> = []
afterAll(() => console.log(`fresh start, first ${TAPS} taps per round: ${figures.join("; ")}`))

/** Polls /health/ready closely: the taps go out on the first 200, as a balancer's would. */
const readyNow = async (server: RunningServer, timeoutMs = 90_000) => {
  const deadline = Date.now() + timeoutMs
  let exited: number | null | undefined
  void server.exited.then((code) => {
    exited = code
  })
  for (;;) {
    if (exited !== undefined) throw new Error(`server exited with ${exited}:\n${server.output()}`)
    const status = await fetch(`${server.url}/health/ready`).then(
      (response) => response.status,
      () => 0
    )
    if (status === 200) return
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Connections opened before the taps, as a balancer's are: the requests then reach the process together,
 * not at the pace a loaded client manages to connect. Each socket carries one tap; its answer is the
 * Location of the 302, or what came instead.
 */
const openConnections = async (port: number, count: number) => {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Net.Socket>((resolve, reject) => {
          const socket = Net.connect({ host: "127.0.0.1", port }, () => resolve(socket))
          socket.once("error", reject)
        })
    )
  )
  const tap = (socket: Net.Socket, band: number) =>
    new Promise<string>((resolve) => {
      let head = ""
      socket.setEncoding("latin1")
      socket.on("data", (chunk: string) => {
        head += chunk
      })
      socket.once("error", (error) =>
        resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`)
      )
      socket.once("close", () => {
        const status = /^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? "none"
        const location = /\r\nlocation: ([^\r]*)\r\n/i.exec(head)?.[1]
        resolve(status === "302" && location !== undefined ? location : `status ${status}`)
      })
      socket.write(
        `GET /e?bandId=DEMO-${String(band).padStart(4, "0")} HTTP/1.1\r\nhost: demo.localhost\r\n` +
          "user-agent: Mozilla/5.0 (iPhone) Mobile/15E148\r\nconnection: close\r\n\r\n"
      )
    })
  return { fire: () => Promise.all(sockets.map((socket, i) => tap(socket, i + 1))) }
}

/*
 * The loaded host of the report: one busy process per core competes with the API while the first taps come
 * in. Without them a quiet machine answered in time even with two round trips per lookup.
 */
const burnCpu = () => {
  const children = Array.from({ length: BURNERS }, () =>
    spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" })
  )
  return {
    stop: () =>
      Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve()
              child.once("exit", () => resolve())
              child.kill("SIGKILL")
            })
        )
      )
  }
}

describe("a fresh API's first taps", () => {
  it("on Redis Cluster, every tap fired the moment readiness says 200 goes to the live window", async () => {
    const database = await createDatabase()
    const cluster = await startRedisCluster()
    const env = {
      DATABASE_URL: database.url,
      ...cluster.env,
      TAPLINE_ROLE: "api",
      // Every tap comes from one address here; the per-address limit is not what this test is about.
      TAP_RATE_LIMIT_PER_MINUTE: "100000000",
      LOG_LEVEL: "WARN"
    }
    const servers: Array<RunningServer> = []
    try {
      // The first process seeds the demo tenant and projects it; the fresh ones find it in Redis.
      const seeder = await startServer({ ...env, TAPLINE_DEMO: "1" })
      servers.push(seeder)
      await waitUntilReady(seeder, 90_000)
      await stopCleanly(seeder)

      const wrong: Record<string, number> = {}
      for (let round = 0; round < ROUNDS; round++) {
        const server = await startServer(env)
        servers.push(server)
        await readyNow(server)
        const connections = await openConnections(server.port, TAPS)
        const burners = burnCpu()
        const fired = performance.now()
        const answers = await connections.fire()
        const lastAnswerMs = Math.round(performance.now() - fired)
        await burners.stop()
        const misses = answers.filter((location) => !location.startsWith(LIVE))
        for (const miss of misses) wrong[miss] = (wrong[miss] ?? 0) + 1
        figures.push(
          `round ${round + 1}: ${misses.length} of ${TAPS} not live, all answered in ${lastAnswerMs} ms`
        )
        await stopCleanly(server)
      }
      figures.push(`wrong answers: ${JSON.stringify(wrong)}`)
      expect(wrong).toEqual({})
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
      await cluster.stop()
      await database.drop()
    }
  }, 300_000)
})
