import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { waitForRedis } from "@tapline/testing/redisServer"

/** Cluster nodes also need port + 10000 free for their bus. */
const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })
const clusterPort = async (taken: ReadonlyArray<number>): Promise<number> => {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    if (taken.some((p) => Math.abs(p - port) < 2)) continue
    if ((await canListen(port)) && (await canListen(port + 10000))) return port
  }
}

/** A throwaway three-master Redis Cluster from the machine's redis-server, in a temp folder of its own. */
export const startRedisCluster = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-cluster-"))
  const ports: Array<number> = []
  for (let i = 0; i < 3; i++) ports.push(await clusterPort(ports))
  const children: Array<ChildProcess> = ports.map((port) => {
    const nodeDir = Path.join(dir, String(port))
    Fs.mkdirSync(nodeDir)
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--dir", nodeDir],
      { stdio: "ignore" }
    )
    child.on("error", () => {})
    return child
  })
  await Promise.all(ports.map((port) => waitForRedis(port)))
  execFileSync(
    "redis-cli",
    ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-yes"],
    { stdio: "ignore" }
  )
  const deadline = Date.now() + 15_000
  while (!ports.every((port) => clusterOk(port))) {
    if (Date.now() > deadline) throw new Error("the Redis Cluster did not come up")
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    nodes: ports.map((port) => `127.0.0.1:${port}`).join(","),
    dispose: async () => {
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
  }
}

const clusterOk = (port: number) => {
  try {
    return execFileSync("redis-cli", ["-p", String(port), "cluster", "info"], { encoding: "utf8" }).includes(
      "cluster_state:ok"
    )
  } catch {
    return false
  }
}
