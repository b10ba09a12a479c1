import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./ports.js"

/*
 * A throwaway Apache Kafka broker (KRaft, one node that is its own controller) for tests. No Debian or npm
 * package carries one, so its jars come from Maven Central (scripts/kafka/pom.xml), fetched once into a
 * cache folder and reused by every test file after.
 */

export const kafkaVersion = "4.1.1"

const pom = fileURLToPath(new URL("../../../scripts/kafka/pom.xml", import.meta.url))

const cacheRoot = () =>
  process.env.TAPLINE_CACHE_DIR ?? Path.join(process.env.HOME ?? Os.homedir(), ".cache", "tapline")

const need = (command: string, args: ReadonlyArray<string>, install: string) => {
  const probe = spawnSync(command, args, { stdio: "ignore" })
  if (probe.error || probe.status !== 0)
    throw new Error(`The Kafka test broker needs \`${command}\` on the PATH: install ${install}`)
}

const run = (command: string, args: ReadonlyArray<string>, options: { cwd?: string } = {}) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
    }
    child.stdout.on("data", keep)
    child.stderr.on("data", keep)
    child.on("error", reject)
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`))
    )
  })

/**
 * The folder of Kafka's runtime jars, fetched with Maven the first time. Two test files fetching at once
 * each fetch into a folder of their own and rename it into place; the second rename loses and is dropped.
 */
export const kafkaLibs = async (): Promise<string> => {
  const home = Path.join(cacheRoot(), `kafka-${kafkaVersion}`)
  const libs = Path.join(home, "libs")
  if (Fs.existsSync(libs)) return libs
  need("mvn", ["-v"], "Maven 3.8+ (Debian: `apt-get install maven`)")
  Fs.mkdirSync(cacheRoot(), { recursive: true })
  const staging = Fs.mkdtempSync(Path.join(cacheRoot(), `kafka-${kafkaVersion}.fetching-`))
  try {
    await run("mvn", [
      "-q",
      "-B",
      "-f",
      pom,
      `-Dkafka.version=${kafkaVersion}`,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${Path.join(staging, "libs")}`,
      "-DincludeScope=runtime"
    ])
    try {
      Fs.renameSync(staging, home)
    } catch (error) {
      // Someone else's fetch finished first: theirs is as good as ours.
      if (!Fs.existsSync(libs)) throw error
    }
  } finally {
    Fs.rmSync(staging, { recursive: true, force: true })
  }
  return libs
}

/** One Metadata request (v4, the oldest Kafka 4 still answers): how many brokers the cluster lists. */
const metadataBrokers = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const clientId = Buffer.from("tapline-test")
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1)
    let at = body.writeInt16BE(3, 0) // ApiKey Metadata
    at = body.writeInt16BE(4, at)
    at = body.writeInt32BE(1, at) // correlation id
    at = body.writeInt16BE(clientId.length, at)
    at += clientId.copy(body, at)
    at = body.writeInt32BE(0, at) // no topics
    body.writeInt8(0, at) // no auto-creation
    const size = Buffer.alloc(4)
    size.writeInt32BE(body.length)
    const socket = Net.connect({ host: "127.0.0.1", port })
    let answer = Buffer.alloc(0)
    socket.setTimeout(3000, () => socket.destroy(new Error("no answer to Metadata")))
    socket.on("error", reject)
    socket.on("connect", () => socket.write(Buffer.concat([size, body])))
    socket.on("data", (chunk) => {
      answer = Buffer.concat([answer, chunk])
      if (answer.length >= 4 && answer.length >= 4 + answer.readInt32BE(0)) {
        socket.destroy()
        // size, correlation id, throttle time, then the brokers' count.
        resolve(answer.readInt32BE(12))
      }
    })
    socket.on("close", () => reject(new Error("connection closed before a Metadata answer")))
  })

const waitForBroker = async (port: number, child: ChildProcess, log: string, deadlineMs: number) => {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the Kafka broker exited (${child.exitCode ?? child.signalCode}):\n${tail(log)}`)
    try {
      if ((await metadataBrokers(port)) > 0) return
    } catch {
      // Not listening or not ready yet.
    }
    if (Date.now() > deadline)
      throw new Error(`the Kafka broker on port ${port} did not start:\n${tail(log)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const tail = (file: string) => {
  try {
    return Fs.readFileSync(file, "utf8").slice(-3000)
  } catch {
    return "(no log)"
  }
}

export interface KafkaBroker {
  /** `127.0.0.1:port`, for a client's bootstrap brokers. */
  readonly bootstrap: string
  readonly port: number
  /**
   * A second listener, advertised at `advertisedPort`, where nothing listens until a test puts a relay
   * there forwarding to `port`: clients that bootstrap through the relay then reach the broker only
   * through it, so the relay sees every request they send.
   */
  readonly relay: { readonly port: number; readonly advertisedPort: number }
  /**
   * With `tls`: one TLS listener per name, on all interfaces, each advertised as `name:port`, under a
   * self-signed certificate naming them all; `ca` is that certificate (PEM), for the clients to trust.
   */
  readonly tls?: { readonly ports: ReadonlyArray<number>; readonly ca: string }
  /** The broker's log dir: `<topic>-<partition>/*.log` hold the record batches as stored. */
  readonly dataDir: string
  /** SIGTERM: a controlled shutdown; resolves once the process exited. */
  readonly stop: () => Promise<void>
  /** SIGKILL: a crash. */
  readonly kill: () => Promise<void>
  /** Starts it again after `stop` or `kill`, on the same ports and data; resolves once it answers. */
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

/**
 * A self-signed certificate naming `names` (its own CA, so a client trusts it through `ca`), written with its
 * key into `dir` as a PEM keystore Kafka reads (`ssl.keystore.type=PEM`), and one listener per name.
 */
const tlsListeners = async (dir: string, names: ReadonlyArray<string>) => {
  need("openssl", ["version"], "OpenSSL (Debian: `apt-get install openssl`)")
  const key = Path.join(dir, "tls.key")
  const cert = Path.join(dir, "tls.crt")
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${names[0]}`,
    "-addext",
    `subjectAltName=${names.map((name) => `${Net.isIP(name) === 0 ? "DNS" : "IP"}:${name}`).join(",")}`,
    "-keyout",
    key,
    "-out",
    cert
  ])
  const ca = Fs.readFileSync(cert, "utf8")
  // Kafka's PEM keystore: the PKCS#8 key and its certificate chain in one file.
  const keystore = Path.join(dir, "keystore.pem")
  Fs.writeFileSync(keystore, Fs.readFileSync(key, "utf8") + ca)
  const ports: Array<number> = []
  for (const _ of names) ports.push(await freePort())
  const listener = (i: number) => `TLS${i}`
  return {
    ca,
    ports,
    // All interfaces: the names resolve to any loopback address a test picks.
    listeners: names.map((_, i) => `${listener(i)}://0.0.0.0:${ports[i]}`),
    advertised: names.map((name, i) => `${listener(i)}://${name}:${ports[i]}`),
    protocols: names.map((_, i) => `${listener(i)}:SSL`),
    properties: {
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": keystore,
      "ssl.client.auth": "none"
    }
  }
}

// Small: the JVM's C1 compiler only, so a start on a busy two-core machine is not spent compiling.
const jvm = ["-Xmx512m", "-Xss1m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]

/** A one-node KRaft broker on free ports with a folder of its own under the system's temporary folder. */
export const startKafkaBroker = async (
  options: {
    readonly startTimeoutMs?: number
    readonly properties?: Readonly<Record<string, string>>
    /** TLS listeners, advertised under these names (which a test resolves, e.g. test/support/RebindingDns). */
    readonly tls?: { readonly names: ReadonlyArray<string> }
  } = {}
): Promise<KafkaBroker> => {
  need("java", ["-version"], "a Java 17+ runtime (Debian: `apt-get install openjdk-17-jre-headless`)")
  const libs = await kafkaLibs()
  const classpath = Path.join(libs, "*")
  const [port, controllerPort] = [await freePort(), await freePort()]
  const relay = { port: await freePort(), advertisedPort: await freePort() }
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-kafka-"))
  const config = Path.join(dir, "server.properties")
  const log = Path.join(dir, "broker.log")
  const dataDir = Path.join(dir, "data")
  const tls = options.tls === undefined ? undefined : await tlsListeners(dir, options.tls.names)
  const properties: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.bootstrap.servers": `127.0.0.1:${controllerPort}`,
    listeners: [
      `PLAINTEXT://127.0.0.1:${port}`,
      `CONTROLLER://127.0.0.1:${controllerPort}`,
      `RELAY://127.0.0.1:${relay.port}`,
      ...(tls?.listeners ?? [])
    ].join(","),
    "advertised.listeners": [
      `PLAINTEXT://127.0.0.1:${port}`,
      `RELAY://127.0.0.1:${relay.advertisedPort}`,
      ...(tls?.advertised ?? [])
    ].join(","),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": [
      "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,RELAY:PLAINTEXT",
      ...(tls?.protocols ?? [])
    ].join(","),
    ...tls?.properties,
    "log.dirs": dataDir,
    "num.partitions": "3",
    // Topics exist only when someone creates them, so a module's "create it" option is what is tested.
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    ...options.properties
  }
  Fs.writeFileSync(
    config,
    Object.entries(properties)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("")
  )
  // Kafka's own random-uuid never starts with "-" (the tool would read it as an option): one in 64 here did.
  let clusterId = randomBytes(16).toString("base64url")
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url")
  const tool = ["-cp", classpath, "kafka.tools.StorageTool", "format", "--standalone", "-t", clusterId]
  await run("java", [...jvm, ...tool, "-c", config])

  const launch = async () => {
    const out = Fs.openSync(log, "a")
    const next = spawn("java", [...jvm, "-cp", classpath, "kafka.Kafka", config], {
      stdio: ["ignore", out, out]
    })
    Fs.closeSync(out)
    next.on("error", () => {})
    try {
      await waitForBroker(port, next, log, options.startTimeoutMs ?? 90_000)
    } catch (error) {
      next.kill("SIGKILL")
      throw error
    }
    return next
  }
  let child: ChildProcess = await launch()
  const exited = () => child.exitCode !== null || child.signalCode !== null
  const signal = (name: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve()
      child.once("exit", () => resolve())
      child.kill(name)
    })
  const kill = () => signal("SIGKILL")
  const stop = async () => {
    // A controlled shutdown that hangs (it waits for the controller, which is itself) ends as a crash.
    const hung = setTimeout(() => child.kill("SIGKILL"), 30_000)
    await signal("SIGTERM")
    clearTimeout(hung)
  }
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    relay,
    ...(tls === undefined ? {} : { tls: { ports: tls.ports, ca: tls.ca } }),
    dataDir,
    stop,
    kill,
    start: async () => {
      if (exited()) child = await launch()
    },
    dispose: async () => {
      await kill()
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
