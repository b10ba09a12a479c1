import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"
import { runId } from "./env.js"
import { type KafkaBroker, startKafkaBroker } from "./kafkaBroker.js"
import { type RabbitServer, startRabbitServer } from "./rabbitServer.js"

/*
 * One Kafka and one RabbitMQ per test run, shared by the test files that never stop, restart or kill the
 * broker themselves (issue 32: a JVM or an Erlang boot is 15–20 s on a busy two-core machine, paid once per
 * file before). vitest runs files in workers that come and go, so the brokers belong to the run's main
 * process: this module is also a vitest global setup (vitest.shared.ts) that serves a loopback HTTP endpoint
 * there; a file's first `sharedKafka()` asks it, it starts the broker (once, however many ask at the same
 * time) and answers with its address, and the teardown stops whatever the run started. The endpoint's
 * address carries the run id, so a worker of another run (a leftover environment) never reuses these.
 * Files stay apart by names of their own (topics, exchanges, queues and groups with a random suffix).
 * A file that stops or kills its broker (the contracts, PlatformSinks.faults) keeps a private one.
 */

/** The TLS listeners of the shared Kafka, in this order: a test resolves the names to what it needs. */
export const SHARED_KAFKA_NAMES = ["kafka-good.shared.test", "kafka-loop.shared.test", "127.0.0.1"] as const

export interface SharedKafka {
  /** The plaintext listener, `127.0.0.1:port`. */
  readonly bootstrap: string
  /** One TLS listener per SHARED_KAFKA_NAMES entry, advertised as `name:port`; `ca` is the certificate. */
  readonly tls: {
    readonly names: ReadonlyArray<string>
    readonly ports: ReadonlyArray<number>
    readonly ca: string
  }
}

export interface SharedRabbit {
  /** guest/guest on loopback. */
  readonly url: string
  readonly port: number
}

interface Kinds {
  readonly kafka: SharedKafka
  readonly rabbit: SharedRabbit
}
type Kind = keyof Kinds

const ENV = "TAPLINE_SHARED_BROKERS"

const starters: { readonly [K in Kind]: () => Promise<{ value: Kinds[K]; dispose: () => Promise<void> }> } = {
  kafka: async () => {
    const broker: KafkaBroker = await startKafkaBroker({ tls: { names: SHARED_KAFKA_NAMES } })
    const tls = broker.tls!
    return {
      value: {
        bootstrap: broker.bootstrap,
        tls: { names: SHARED_KAFKA_NAMES, ports: tls.ports, ca: tls.ca }
      },
      dispose: broker.dispose
    }
  },
  rabbit: async () => {
    const server: RabbitServer = await startRabbitServer()
    return { value: { url: server.url, port: server.port }, dispose: server.dispose }
  }
}

/** The brokers this process started, each once: a failed start is not kept, the next ask tries again. */
const makeHost = () => {
  const running = new Map<Kind, Promise<{ value: unknown; dispose: () => Promise<void> }>>()
  const get = <K extends Kind>(kind: K) => {
    let found = running.get(kind)
    if (found === undefined) {
      found = starters[kind]()
      running.set(kind, found)
      found.catch(() => running.delete(kind))
    }
    return found.then((started) => started.value as Kinds[K])
  }
  const disposeAll = async () => {
    const all = [...running.values()]
    running.clear()
    await Promise.all(all.map((p) => p.then((started) => started.dispose()).catch(() => {})))
  }
  return { get, disposeAll }
}

/** Outside a vitest run with the global setup (a script): this process starts them and stops them at exit. */
let local: ReturnType<typeof makeHost> | undefined
const localHost = () => {
  if (local === undefined) {
    const host = makeHost()
    local = host
    process.once("beforeExit", () => void host.disposeAll())
  }
  return local
}

const ask = <K extends Kind>(base: string, kind: K) =>
  new Promise<Kinds[K]>((resolve, reject) => {
    const request = Http.get(`${base}/${kind}`, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(JSON.parse(body) as Kinds[K])
          : reject(new Error(`the shared ${kind} did not start: ${body}`))
      )
    })
    request.on("error", reject)
  })

/** This run's endpoint, when its global setup serves one: one named in an environment left by another run is not. */
const endpoint = () => {
  const base = process.env[ENV]
  return base?.includes(`/${encodeURIComponent(runId)}/`) ? base : undefined
}

const shared = <K extends Kind>(kind: K): Promise<Kinds[K]> => {
  const base = endpoint()
  return base === undefined ? localHost().get(kind) : ask(base, kind)
}

/** The run's Kafka (plaintext and three TLS listeners, SHARED_KAFKA_NAMES); never stop or kill it. */
export const sharedKafka = () => shared("kafka")

/** The run's private RabbitMQ node; never stop or kill it. */
export const sharedRabbit = () => shared("rabbit")

// The vitest global setup: the endpoint, in the run's main process.

let served: { readonly server: Http.Server; readonly host: ReturnType<typeof makeHost> } | undefined

export const setup = async () => {
  // Several projects share the run (and the process): the first one serves, the others find it.
  if (endpoint() !== undefined) return
  const host = makeHost()
  const server = Http.createServer((request, response) => {
    const kind = request.url?.split("/").at(-1) as Kind
    if (!(kind in starters)) {
      response.writeHead(404).end(`no shared broker ${kind}`)
      return
    }
    host.get(kind).then(
      (value) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value)),
      (error: unknown) => response.writeHead(500).end(error instanceof Error ? error.message : String(error))
    )
  })
  // A start takes a while on a busy machine: no request times out on our side.
  server.requestTimeout = 0
  server.headersTimeout = 0
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as Net.AddressInfo
  const token = randomBytes(8).toString("hex")
  process.env[ENV] = `http://127.0.0.1:${port}/${encodeURIComponent(runId)}/${token}`
  served = { server, host }
}

export const teardown = async () => {
  if (served === undefined) return
  const { server, host } = served
  served = undefined
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await host.disposeAll()
}
