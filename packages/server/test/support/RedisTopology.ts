import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "@tapline/testing/ports"
import { startRedisCluster } from "@tapline/testing/redisCluster"
import { waitForRedis } from "@tapline/testing/redisServer"
import { Effect, Option } from "effect"
import { Redis as RedisClient } from "ioredis"
import { redisConfig } from "./TestRedis.js"

/*
 * Real Redis topologies for the tests, started from the machine's redis-server binary: a Sentinel-watched
 * master, a three-node Cluster, and a TLS server with an ACL user. Each lives in its own temp folder and is
 * shut down with the test scope.
 */

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const startServer = (dir: string, args: ReadonlyArray<string>) => {
  const child = spawn("redis-server", [...args, "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  child.on("error", () => {})
  return child
}

const stopAll = (children: ReadonlyArray<ChildProcess>, dir: string) =>
  Effect.promise(async () => {
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
  })

const tempDir = (name: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), `tapline-${name}-`))

const sentinelConfFile = (dir: string, sentinelPort: number, masterPort: number) => {
  const config = Path.join(dir, `sentinel-${sentinelPort}.conf`)
  Fs.writeFileSync(
    config,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
      "sentinel down-after-milliseconds mymaster 2000",
      "sentinel failover-timeout mymaster 10000"
    ].join("\n")
  )
  return config
}

/**
 * A master watched by one Sentinel (quorum 1); with `replica`, a replica of it too, so a failover has
 * somewhere to go.
 */
const startSentinel = (options: { readonly replica: boolean }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = tempDir("sentinel")
      const masterPort = await freePort()
      const master = startServer(dir, ["--port", String(masterPort), "--bind", "127.0.0.1"])
      await waitForRedis(masterPort)
      const children = [master]
      let replicaPort: number | undefined
      if (options.replica) {
        replicaPort = await freePort()
        const replicaDir = Path.join(dir, "replica")
        Fs.mkdirSync(replicaDir)
        children.push(
          startServer(replicaDir, [
            "--port",
            String(replicaPort),
            "--bind",
            "127.0.0.1",
            "--replicaof",
            "127.0.0.1",
            String(masterPort)
          ])
        )
        await waitForRedis(replicaPort)
        const port = replicaPort
        await waitFor("the replica in sync", async () => {
          const client = new RedisClient({ port, host: "127.0.0.1", lazyConnect: true })
          client.on("error", () => {})
          try {
            return String(await client.info("replication")).includes("master_link_status:up")
          } finally {
            client.disconnect()
          }
        })
      }
      const sentinelPort = await freePort()
      const watcher = spawn("redis-server", [sentinelConfFile(dir, sentinelPort, masterPort), "--sentinel"], {
        stdio: ["ignore", "ignore", "pipe"]
      })
      watcher.on("error", () => {})
      children.push(watcher)
      await waitForRedis(sentinelPort)
      if (replicaPort !== undefined) {
        // A failover needs the Sentinel to know the replica (it learns it from the master's INFO).
        await waitFor("the Sentinel to see the replica", async () => {
          const client = new RedisClient({ port: sentinelPort, host: "127.0.0.1", lazyConnect: true })
          client.on("error", () => {})
          try {
            const replicas = (await client.call("SENTINEL", "REPLICAS", "mymaster")) as Array<Array<string>>
            return replicas.some(
              (fields) => fields.join(" ").includes("flags slave") && !fields.join(" ").includes("s_down")
            )
          } finally {
            client.disconnect()
          }
        })
      }
      return { dir, children, masterPort, sentinelPort, replicaPort }
    }),
    ({ children, dir }) => stopAll(children, dir)
  )

export const sentinel = startSentinel({ replica: false })

/** Master, replica and Sentinel: `SENTINEL FAILOVER mymaster` swaps the first two. */
export const sentinelWithReplica = startSentinel({ replica: true })

export const cluster = Effect.acquireRelease(Effect.promise(startRedisCluster), (running) =>
  Effect.promise(running.stop)
)

/** A TLS-only server that admits user `tapline` with a password and refuses the default user. */
export const tlsWithAcl = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = tempDir("tls")
    const cert = Path.join(dir, "cert.pem")
    const key = Path.join(dir, "key.pem")
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1"
      ],
      { stdio: "ignore" }
    )
    const port = await freePort()
    const child = startServer(dir, [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--tls-cert-file",
      cert,
      "--tls-key-file",
      key,
      "--tls-ca-cert-file",
      cert,
      "--tls-auth-clients",
      "no",
      // Each word its own argument: redis-server joins them into one config line per option.
      ...["--user", "default", "off"],
      ...["--user", "tapline", "on", ">s3cret-pass", "~*", "&*", "+@all"]
    ])
    const ca = Fs.readFileSync(cert, "utf8")
    await waitForRedis(port, {
      tls: { ca, servername: "localhost" },
      username: "tapline",
      password: "s3cret-pass"
    })
    return { dir, children: [child], port, caFile: cert }
  }),
  ({ children, dir }) => stopAll(children, dir)
)

/** Tapline's Redis config for a fresh Sentinel-watched master, under `prefix`. */
export const sentinelConfig = (prefix: string) =>
  Effect.map(sentinel, ({ sentinelPort }) =>
    redisConfig(prefix, {
      url: Option.none(),
      mode: "sentinel",
      sentinels: [{ host: "127.0.0.1", port: sentinelPort }]
    })
  )

/** Tapline's Redis config for a fresh three-node Cluster, under `prefix`. */
export const clusterConfig = (prefix: string) =>
  Effect.map(cluster, ({ ports }) =>
    redisConfig(prefix, {
      url: Option.none(),
      mode: "cluster",
      clusterNodes: ports.map((port) => ({ host: "127.0.0.1", port }))
    })
  )
