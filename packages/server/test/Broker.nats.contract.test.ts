import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type JetStreamManager, jetstream, jetstreamManager, type StoredMsg } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { Effect, Redacted, Schedule, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { BrokerError } from "../src/Brokers/Broker.js"
import * as NatsBroker from "../src/Brokers/NatsBroker.js"
import { OutboundRefused } from "../src/Outbound/OutboundErrors.js"
import { brokerContract, message } from "./support/BrokerContract.js"

/*
 * The Broker contract against a private nats-server with JetStream (one for the file). Streams may not
 * overlap in subjects, and the contract's messages all name one organisation: so each channel is its own
 * organisation slug, with its own stream (named as the channel) over `tapline.<channel>.>`, and the module is
 * given the contract's messages with that slug. The subject is still `tapline.<slug>.tap.created`.
 */

let nats: NatsServer

beforeAll(async () => {
  nats = await startNatsServer()
}, 30_000)

afterAll(async () => {
  await nats?.dispose()
})

/**
 * A bare client of its own for each readBack and publishRaw: one kept across the contract's restarts would
 * lose what it sent while reconnecting (nats.js discards it).
 */
const withBare = async <A>(run: (nc: NatsConnection, jsm: JetStreamManager) => Promise<A>) => {
  const nc = await connect({ servers: nats.url })
  try {
    return await run(nc, await jetstreamManager(nc))
  } finally {
    await nc.close()
  }
}

const optionsFor = (channel: string, url = nats.url): NatsBroker.NatsBrokerOptions => ({
  url: Redacted.make(url),
  stream: { name: channel, create: true, subjects: [`tapline.${channel}.>`] },
  consumer: { name: "registrations", filterSubject: `tapline.${channel}.band.>` },
  deadline: "5 seconds",
  reconnectWait: "250 millis",
  retryBackoff: { initial: "200 millis", max: "2 seconds" }
})

/** Every message of a stream, read with the bare client, once it holds at least `count`. */
const stored = async (manager: JetStreamManager, stream: string, count: number) => {
  for (;;) {
    const info = await manager.streams.info(stream).catch(() => undefined)
    if (info !== undefined && info.state.messages >= count) {
      const all: Array<StoredMsg> = []
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const msg = await manager.streams.getMessage(stream, { seq })
        if (msg !== null) all.push(msg)
      }
      return all
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

brokerContract({
  kind: "nats",
  make: (channel) =>
    Effect.map(NatsBroker.make(optionsFor(channel)), (broker) => ({
      ...broker,
      publish: (messages) => broker.publish(messages.map((m) => ({ ...m, organizationSlug: channel })))
    })),
  readBack: (channel, count) =>
    withBare(async (_, jsm) =>
      (await stored(jsm, channel, count)).map((msg) => ({ key: undefined, body: msg.string() }))
    ),
  publishRaw: (channel, bodies) =>
    withBare(async (nc) => {
      for (const body of bodies) await jetstream(nc).publish(`tapline.${channel}.band.registered`, body)
    }),
  dedupes: true,
  server: { stop: () => nats.stop(), start: () => nats.start() }
})

const slugFor = (what: string) => `nats-${what}-${randomUUID().slice(0, 8)}`
const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(effect))
const failureOf = <A>(effect: Effect.Effect<A, BrokerError, Scope.Scope>) =>
  run(Effect.flip(effect)).then((error) => ({ failure: error.failure, message: error.message }))

describe("the NATS module", () => {
  it("publishes to tapline.<slug>.tap.created with Nats-Msg-Id = the id, as a structured CloudEvent", async () => {
    const slug = slugFor("subject")
    const messages = Array.from({ length: 3 }, (_, n) => message("band-a", n, slug))
    await run(Effect.flatMap(NatsBroker.make(optionsFor(slug)), (broker) => broker.publish(messages)))
    const read = await withBare((_, jsm) => stored(jsm, slug, 3))
    expect(read.map((m) => m.subject)).toEqual(messages.map(() => `tapline.${slug}.tap.created`))
    expect(read.map((m) => m.header.get("Nats-Msg-Id"))).toEqual(messages.map((m) => m.id))
    // The binding's mark of structured mode; `ce-` headers would say binary mode.
    expect(
      read.every((m) => m.header.get("Content-Type") === "application/cloudevents+json; charset=utf-8")
    ).toBe(true)
    expect(read.flatMap((m) => m.header.keys()).filter((k) => k.toLowerCase().startsWith("ce-"))).toEqual([])
    const config = await withBare(async (_, jsm) => (await jsm.streams.info(slug)).config)
    expect(config.storage).toBe("file")
    expect(config.duplicate_window).toBe(120 * 1e9)
  }, 60_000)

  it("drops what a second module instance (a worker restarted after a crash) publishes again", async () => {
    const slug = slugFor("crash")
    const messages = Array.from({ length: 10 }, (_, n) => message(`band-${n % 2}`, n, slug))
    const later = Array.from({ length: 2 }, (_, n) => message("band-a", 10 + n, slug))
    const first = await run(Effect.flatMap(NatsBroker.make(optionsFor(slug)), (b) => b.publish(messages)))
    const second = await run(
      Effect.flatMap(NatsBroker.make(optionsFor(slug)), (b) => b.publish([...messages, ...later]))
    )
    expect([first.duplicates, second.duplicates]).toEqual([0, 10])
    const read = await withBare((_, jsm) => stored(jsm, slug, 12))
    expect(read.map((m) => m.header.get("Nats-Msg-Id"))).toEqual([...messages, ...later].map((m) => m.id))
  }, 60_000)

  it("fails permanently for a stream that does not exist and may not be created, and for a message over max_payload", async () => {
    const slug = slugFor("missing")
    const options = optionsFor(slug)
    const missing = { ...options, stream: { ...options.stream, create: false } }
    const publish = await failureOf(
      Effect.flatMap(NatsBroker.make(missing), (b) => b.publish([message("a", 0, slug)]))
    )
    expect(publish).toEqual({
      failure: "permanent",
      message: `NATS publish: no stream stores tapline.${slug}.tap.created`
    })
    const consume = await failureOf(
      Effect.flatMap(NatsBroker.make(missing), (b) => b.consume(() => Effect.void))
    )
    expect(consume.failure).toBe("permanent")
    // The server's default max_payload is 1 MiB.
    const big = { ...message("a", 0, slug), body: "x".repeat(1_100_000) }
    const tooBig = await failureOf(Effect.flatMap(NatsBroker.make(options), (b) => b.publish([big])))
    expect(tooBig.failure).toBe("permanent")
  }, 60_000)

  it("resolves and vets the host once, and reconnects to the vetted address after a restart", async () => {
    const slug = slugFor("dial")
    const dialled: Array<string> = []
    const options = {
      ...optionsFor(slug, "nats://broker.invalid:4222"),
      dial: async (host: string, port: number) => {
        dialled.push(`${host}:${port}`)
        return { address: "127.0.0.1", port: nats.port, servername: host }
      }
    }
    await run(
      Effect.gen(function* () {
        const broker = yield* NatsBroker.make(options)
        yield* broker.publish([message("a", 0, slug)])
        yield* Effect.promise(() => nats.stop())
        yield* Effect.promise(() => nats.start())
        yield* broker
          .publish([message("a", 1, slug)])
          .pipe(Effect.retry({ schedule: Schedule.spaced("250 millis").pipe(Schedule.upTo("30 seconds")) }))
      })
    )
    expect(dialled).toEqual(["broker.invalid:4222"])
    const refused = await failureOf(
      Effect.flatMap(
        NatsBroker.make({
          ...options,
          dial: () => Promise.reject(new OutboundRefused("loopback is refused"))
        }),
        (b) => b.publish([message("a", 2, slug)])
      )
    )
    expect(refused.failure).toBe("permanent")
  }, 60_000)
})

describe("the NATS module against a server with TLS and users", () => {
  let secured: NatsServer
  let ca: string
  beforeAll(async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-nats-tls-"))
    const [cert, key] = [Path.join(dir, "cert.pem"), Path.join(dir, "key.pem")]
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"],
        ...["-subj", "/CN=broker.test", "-addext", "subjectAltName=DNS:broker.test"]
      ],
      { stdio: "ignore" }
    )
    ca = Fs.readFileSync(cert, "utf8")
    secured = await startNatsServer({
      config: `tls { cert_file: "${cert}", key_file: "${key}" }
authorization { users = [
  { user: tapline, password: secret }
  { user: limited, password: secret, permissions: { publish: { deny: ["tapline.>"] } } }
] }`,
      user: { user: "tapline", password: "secret" }
    })
    Fs.rmSync(dir, { recursive: true, force: true })
  }, 30_000)
  afterAll(() => secured?.dispose())

  /** The host is broker.test, vetted to 127.0.0.1; the certificate names broker.test only. */
  const optionsAs = (slug: string, credentials: string, servername = "broker.test") => ({
    ...optionsFor(slug, `tls://${credentials}@broker.test:4222`),
    ca,
    dial: async () => ({ address: "127.0.0.1", port: secured.port, servername })
  })

  it("connects to the vetted address with the host as TLS server name", async () => {
    const slug = slugFor("tls")
    const report = await run(
      Effect.flatMap(NatsBroker.make(optionsAs(slug, "tapline:secret")), (b) =>
        b.publish([message("a", 0, slug)])
      )
    )
    expect(report.duplicates).toBe(0)
    const wrongName = await failureOf(
      Effect.flatMap(NatsBroker.make(optionsAs(slug, "tapline:secret", "other.test")), (b) =>
        b.publish([message("a", 1, slug)])
      )
    )
    expect(wrongName.failure).toBe("permanent")
    expect(wrongName.message).toMatch(
      /^NATS connection failed: .*not in the cert's altnames: DNS:broker.test/
    )
  }, 60_000)

  it("fails permanently for refused credentials and for a subject the user may not publish to", async () => {
    const slug = slugFor("auth")
    const publishAs = (credentials: string) =>
      failureOf(
        Effect.flatMap(NatsBroker.make(optionsAs(slug, credentials)), (b) =>
          b.publish([message("a", 0, slug)])
        )
      )
    expect(await publishAs("tapline:wrong")).toEqual({
      failure: "permanent",
      message: "NATS connection failed: Authorization Violation"
    })
    expect(await publishAs("limited:secret")).toEqual({
      failure: "permanent",
      message: `NATS publish failed: Permissions Violation for Publish to "tapline.${slug}.tap.created"`
    })
  }, 60_000)
})

describe("the NATS module's sliding window", () => {
  it("keeps a window of publishes in flight and the stream stores them in the order given", async () => {
    const slug = slugFor("window")
    const messages = Array.from({ length: 3000 }, (_, n) => message(`band-${n % 7}`, n, slug))
    const reports = await run(
      Effect.gen(function* () {
        const broker = yield* NatsBroker.make({ ...optionsFor(slug), inFlight: 64 })
        // Many times the window in one publish, then a second publish right behind it.
        return [yield* broker.publish(messages.slice(0, 2500)), yield* broker.publish(messages.slice(2500))]
      })
    )
    expect(reports).toEqual([{ duplicates: 0 }, { duplicates: 0 }])
    const read = await withBare((_, jsm) => stored(jsm, slug, messages.length))
    // One connection, issued in order: the stream's sequence is the given order, not just each key's.
    expect(read.map((m) => m.header.get("Nats-Msg-Id"))).toEqual(messages.map((m) => m.id))
  }, 60_000)

  it("fails the publish at a refused message, starts nothing after it, and counts the re-publish's duplicates", async () => {
    const slug = slugFor("stop")
    const messages = Array.from({ length: 400 }, (_, n) => message(`band-${n % 3}`, n, slug))
    const big = { ...message("band-0", 400, slug), body: "x".repeat(1_100_000) }
    const outcome = await run(
      Effect.gen(function* () {
        const broker = yield* NatsBroker.make({ ...optionsFor(slug), inFlight: 16 })
        const refused = yield* Effect.flip(
          broker.publish([...messages.slice(0, 100), big, ...messages.slice(100)])
        )
        const again = yield* broker.publish(messages)
        return { refused, again }
      })
    )
    expect(outcome.refused.failure).toBe("permanent")
    const read = await withBare((_, jsm) => stored(jsm, slug, messages.length))
    expect(read.map((m) => m.header.get("Nats-Msg-Id"))).toEqual(messages.map((m) => m.id))
    // Stored before the refusal: the 100 before it, all acknowledged before the publish failed, and the few
    // started beside it (the acks read with the one that started it may each start one more).
    expect(outcome.again.duplicates).toBeGreaterThanOrEqual(100)
    expect(outcome.again.duplicates).toBeLessThanOrEqual(100 + 2 * 16)
  }, 60_000)
})
