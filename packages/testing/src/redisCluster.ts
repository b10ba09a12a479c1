import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Redis as RedisClient } from "ioredis"
import { waitForRedis } from "./redisServer.js"

/*
 * A three-node Redis Cluster (no replicas) from the machine's redis-server, in a temp folder of its own: for
 * the server tests (through RedisTopology's scoped `cluster`) and the process tests (a fresh API's first taps,
 * issue 27).
 */

export interface RunningCluster {
  readonly ports: ReadonlyArray<number>
  /** REDIS_MODE and REDIS_CLUSTER_NODES for a server process. */
  readonly env: Record<string, string>
  readonly stop: () => Promise<void>
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** Cluster nodes also need port + 10000 free for their bus. */
const freeClusterPort = async (taken: ReadonlyArray<number>): Promise<number> => {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    if (taken.some((p) => Math.abs(p - port) < 2)) continue
    const ok = await Promise.all([port, port + 10000].map((p) => canListen(p)))
    if (ok.every(Boolean)) return port
  }
}

export const startRedisCluster = async (): Promise<RunningCluster> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-cluster-"))
  const ports: Array<number> = []
  for (let i = 0; i < 3; i++) ports.push(await freeClusterPort(ports))
  const children: Array<ChildProcess> = ports.map((port) => {
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"],
        ...["--cluster-config-file", `nodes-${port}.conf`, "--dir", dir, "--save", "", "--appendonly", "no"]
      ],
      { stdio: ["ignore", "ignore", "ignore"] }
    )
    child.on("error", () => {})
    return child
  })
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once("exit", () => resolve())
            child.kill("SIGKILL")
          })
      )
    )
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) await waitForRedis(port)
    execFileSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes"
      ],
      { stdio: "ignore" }
    )
    const deadline = Date.now() + 30_000
    for (;;) {
      const client = new RedisClient({ port: ports[0]!, host: "127.0.0.1", lazyConnect: true })
      client.on("error", () => {})
      const info = await client.cluster("INFO").catch(() => "")
      client.disconnect()
      if (String(info).includes("cluster_state:ok")) break
      if (Date.now() > deadline) throw new Error("Redis Cluster did not reach cluster_state:ok")
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    ports,
    env: { REDIS_MODE: "cluster", REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(",") },
    stop
  }
}
