import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { freePort } from "@tapline/testing/ports"
import { type RabbitServer, startRabbitServer } from "@tapline/testing/rabbitServer"
import { Deferred, Effect, Either, Redacted, type Scope } from "effect"
import { Connection, type SyncMessage } from "rabbitmq-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { BrokerError, BrokerShape, Dial } from "../src/Brokers/Broker.js"
import { channelOf, make, type RabbitBrokerOptions } from "../src/Brokers/RabbitBroker.js"
import { OutboundRefused } from "../src/Outbound/OutboundErrors.js"
import { brokerContract, message, type ReadBack } from "./support/BrokerContract.js"

/*
 * The RabbitMQ module against a private rabbitmq-server started once for the file (Erlang takes 10–20 s to
 * boot on a busy machine, each restart as long again: the contract's one restart also serves the durability
 * checks). Every test has an exchange of its own, named after its channel. What the module published is read
 * back from `<channel>.capture`, a durable queue bound with `#` to the channel's exchange, which the fixture
 * declares (exchange included) before the module exists: a topic exchange keeps nothing for queues bound after
 * a publish.
 */

let server: RabbitServer
let admin: Connection
let tlsPort: number
let certDir: string

beforeAll(async () => {
  certDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-rabbit-tls-"))
  const file = (name: string) => Path.join(certDir, name)
  // The certificate names broker.test only: a client checking it against the address would refuse it.
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      file("key.pem"),
      "-out",
      file("cert.pem")
    ].concat(["-days", "1", "-subj", "/CN=broker.test", "-addext", "subjectAltName=DNS:broker.test"]),
    { stdio: "ignore" }
  )
  tlsPort = await freePort()
  const began = Date.now()
  server = await startRabbitServer({
    config: [
      `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
      `ssl_options.cacertfile = ${file("cert.pem")}`,
      `ssl_options.certfile = ${file("cert.pem")}`,
      `ssl_options.keyfile = ${file("key.pem")}`,
      "ssl_options.verify = verify_none",
      "ssl_options.fail_if_no_peer_cert = false",
      // Small enough for a test to go over it.
      "max_message_size = 1048576"
    ]
  })
  console.log(`private rabbitmq-server ${server.nodename} answered after ${Date.now() - began} ms`)
  admin = new Connection({ url: server.url, acquireTimeout: 90_000, retryLow: 250, retryHigh: 2_000 })
  admin.on("error", () => {})
}, 180_000)

afterAll(async () => {
  // A test that timed out may still hold a channel: the node goes whatever the client does.
  admin?.unsafeDestroy()
  await server?.dispose()
  if (certDir !== undefined) Fs.rmSync(certDir, { recursive: true, force: true })
}, 120_000)

const BINDING = "tap.created.#"

const options = (channel: string, more: Partial<RabbitBrokerOptions> = {}): RabbitBrokerOptions => ({
  url: Redacted.make(server.url),
  exchange: channel,
  queue: `${channel}.queue`,
  bindingKeys: [BINDING],
  timeout: "5 seconds",
  retryDelay: "300 millis",
  ...more
})

/** The exchange as the module declares it, and the capture queue bound to everything in it. */
const captureQueue = async (channel: string) => {
  await admin.exchangeDeclare({ exchange: channel, type: "topic", durable: true })
  await admin.queueDeclare({ queue: `${channel}.capture`, durable: true })
  await admin.queueBind({ queue: `${channel}.capture`, exchange: channel, routingKey: "#" })
}

const bodyText = (got: SyncMessage) =>
  Buffer.isBuffer(got.body) ? got.body.toString("utf8") : String(got.body)

/**
 * Every message in `queue` once at least `count` are there, left in it: read without acknowledging on a
 * channel of its own, then handed back to the queue (in order) when the channel closes.
 */
const drain = async (
  queue: string,
  count: number,
  timeoutMs = 60_000
): Promise<ReadonlyArray<SyncMessage>> => {
  const channel = await admin.acquire()
  const deadline = Date.now() + timeoutMs
  try {
    const read: SyncMessage[] = []
    for (;;) {
      const got = await channel.basicGet({ queue })
      if (got !== undefined) read.push(got)
      else if (read.length >= count) return read
      else if (Date.now() > deadline)
        throw new Error(`${queue}: ${read.length} of ${count} in ${timeoutMs} ms`)
      else await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    await channel.close()
  }
}

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(effect))

/**
 * The module declares a durable exchange and publishes persistent messages: both survive a broker restart
 * (the contract's one stop and start, so the node boots once for all the restart checks).
 */
const durableAcrossRestart = async () => {
  const channel = `rabbit-durable-${randomUUID().slice(0, 8)}`
  const messages = Array.from({ length: 10 }, (_, n) => message("band-a", n))
  await run(
    Effect.gen(function* () {
      const broker = yield* make(options(channel))
      // The first publish declares the exchange (nothing is bound yet: that message goes nowhere).
      yield* broker.publish([message("band-a", -1)])
      yield* Effect.promise(async () => {
        await admin.queueDeclare({ queue: `${channel}.capture`, durable: true })
        await admin.queueBind({ queue: `${channel}.capture`, exchange: channel, routingKey: "#" })
      })
      yield* broker.publish(messages)
    })
  )
  return async () => {
    // Declared again as durable and topic: the broker refuses that for an exchange declared otherwise.
    await admin.exchangeDeclare({ exchange: channel, type: "topic", durable: true, passive: false })
    // Recovered before the node takes connections: the count is final, transient messages are gone.
    const { messageCount } = await admin.queueDeclare({ queue: `${channel}.capture`, passive: true })
    expect(messageCount, "persistent messages in a durable queue after the restart").toBe(messages.length)
    const kept = await drain(`${channel}.capture`, messages.length)
    expect(kept.map((got) => got.messageId)).toEqual(messages.map((m) => m.id))
  }
}

brokerContract({
  kind: "rabbitmq",
  make: (channel) =>
    Effect.zipRight(
      Effect.promise(() => captureQueue(channel)),
      make(options(channel))
    ),
  readBack: async (channel, count) =>
    (await drain(`${channel}.capture`, count)).map(
      (got): ReadBack => ({ key: undefined, body: bodyText(got) })
    ),
  publishRaw: async (channel, bodies) => {
    const publisher = admin.createPublisher({ confirm: true })
    try {
      await Promise.all(
        bodies.map((body) =>
          publisher.send(
            { exchange: channel, routingKey: "tap.created.contract-org", durable: true },
            Buffer.from(body)
          )
        )
      )
    } finally {
      await publisher.close()
    }
  },
  dedupes: false,
  server: { stop: () => server.stop(), start: () => server.start() },
  acrossRestart: durableAcrossRestart
})

const failureOf = async (
  act: (broker: BrokerShape) => Effect.Effect<unknown, BrokerError, Scope.Scope>,
  more: Partial<RabbitBrokerOptions>
) => {
  const channel = `rabbit-fail-${randomUUID().slice(0, 8)}`
  return run(Effect.flatMap(make(options(channel, more)), (broker) => Effect.either(act(broker))))
}

describe("the RabbitMQ broker module", () => {
  it("routes by organisation, tap.created.<slug>, with the CloudEvent's id, type and content type", async () => {
    const channel = `rabbit-routing-${randomUUID().slice(0, 8)}`
    await captureQueue(channel)
    for (const slug of ["contract-org", "other-org"]) {
      await admin.queueDeclare({ queue: `${channel}.${slug}`, durable: true })
      await admin.queueBind({
        queue: `${channel}.${slug}`,
        exchange: channel,
        routingKey: `tap.created.${slug}`
      })
    }
    const ours = Array.from({ length: 6 }, (_, n) => message("band-a", n))
    const theirs = Array.from({ length: 2 }, (_, n) => message("band-b", n, "other-org"))
    await run(Effect.flatMap(make(options(channel)), (broker) => broker.publish([...ours, ...theirs])))

    const mine = await drain(`${channel}.contract-org`, ours.length)
    expect(mine.map((got) => got.messageId)).toEqual(ours.map((m) => m.id))
    const other = await drain(`${channel}.other-org`, theirs.length)
    expect(other.map((got) => got.messageId)).toEqual(theirs.map((m) => m.id))
    for (const got of mine) {
      expect(got).toMatchObject({
        exchange: channel,
        routingKey: "tap.created.contract-org",
        type: "tapline.tap.created",
        contentType: "application/cloudevents+json",
        durable: true
      })
      expect(bodyText(got)).toBe(ours.find((m) => m.id === got.messageId)!.body)
    }
  }, 60_000)

  it("fails as permanent on refused credentials, a missing exchange with declare off, a message too large", async () => {
    const wrong = new URL(server.url)
    wrong.password = "not-the-password"
    const refused = await failureOf((broker) => broker.publish([message("band-a", 0)]), {
      url: Redacted.make(wrong.toString())
    })
    expect(Either.isLeft(refused) && refused.left).toMatchObject({ failure: "permanent", broker: "rabbitmq" })
    expect(Either.isLeft(refused) && refused.left.message).toContain("ACCESS_REFUSED")
    expect(Either.isLeft(refused) && refused.left.message).not.toContain("not-the-password")

    const missing = await failureOf((broker) => broker.publish([message("band-a", 0)]), { declare: false })
    expect(Either.isLeft(missing) && missing.left).toMatchObject({ failure: "permanent" })
    expect(Either.isLeft(missing) && missing.left.message).toContain("NOT_FOUND")

    const noQueue = await failureOf((broker) => broker.consume(() => Effect.void), { declare: false })
    expect(Either.isLeft(noQueue) && noQueue.left).toMatchObject({ failure: "permanent" })

    const big = { ...message("band-a", 0), body: JSON.stringify({ pad: "x".repeat(1_200_000) }) }
    const tooLarge = await failureOf((broker) => broker.publish([big]), {})
    expect(Either.isLeft(tooLarge) && tooLarge.left).toMatchObject({ failure: "permanent" })
    expect(Either.isLeft(tooLarge) && tooLarge.left.message).toContain("PRECONDITION_FAILED")
  }, 90_000)

  it("holds a failing message back before its redelivery, counts it, and goes on with the others", async () => {
    const channel = `rabbit-backoff-${randomUUID().slice(0, 8)}`
    const poison = message("band-p", 0)
    const others = Array.from({ length: 5 }, (_, n) => message("band-q", n + 1))
    const deliveries: Array<{ at: number; redeliveries: number; id: string | undefined }> = []
    const handled = new Set<string>()
    await run(
      Effect.gen(function* () {
        const broker = yield* make(options(channel, { retryDelay: "1 second" }))
        const done = yield* Deferred.make<void>()
        yield* broker.consume((received) =>
          Effect.suspend(() => {
            const id = JSON.parse(received.body).id as string
            if (id === poison.id) {
              deliveries.push({ at: Date.now(), redeliveries: received.redeliveries, id: received.id })
              // Fails until every other message went through: they cannot be waiting behind it.
              if (handled.size < others.length) return Effect.fail("not yet")
              return Deferred.succeed(done, undefined)
            }
            handled.add(id)
            return Effect.void
          })
        )
        yield* broker.publish([poison, ...others])
        yield* Deferred.await(done)
      })
    )
    expect(deliveries.length).toBeGreaterThanOrEqual(2)
    expect(deliveries[0]!.redeliveries).toBe(0)
    expect(deliveries.slice(1).every((d) => d.redeliveries >= 1)).toBe(true)
    // The module's own id for it, from the AMQP message id.
    expect(deliveries.every((d) => d.id === poison.id)).toBe(true)
    // Held back at least the retry delay each time (a lower bound: a slow machine only adds to it).
    for (let n = 1; n < deliveries.length; n++)
      expect(deliveries[n]!.at - deliveries[n - 1]!.at).toBeGreaterThanOrEqual(950)
  }, 60_000)

  it("connects where the dial says, once per attempt, verifying TLS against the host; a refusal is permanent", async () => {
    const channel = `rabbit-dial-${randomUUID().slice(0, 8)}`
    await captureQueue(channel)
    const asked: Array<[string, number]> = []
    const dial: Dial = async (host, port) => {
      asked.push([host, port])
      return { address: "127.0.0.1", port, servername: host }
    }
    const cert = Fs.readFileSync(Path.join(certDir, "cert.pem"))
    // broker.test resolves nowhere: only the dial can take the module to the node.
    const sent = message("band-a", 0)
    await run(
      Effect.flatMap(
        make(
          options(channel, {
            url: Redacted.make(`amqps://guest:guest@broker.test:${tlsPort}`),
            dial,
            tls: { ca: cert }
          })
        ),
        (broker) => broker.publish([sent])
      )
    )
    expect(asked).toEqual([["broker.test", tlsPort]])
    expect((await drain(`${channel}.capture`, 1)).map((got) => got.messageId)).toEqual([sent.id])

    // The same node under a name its certificate does not carry.
    const otherName = await failureOf((broker) => broker.publish([message("band-a", 1)]), {
      url: Redacted.make(`amqps://guest:guest@other.test:${tlsPort}`),
      dial,
      tls: { ca: cert }
    })
    expect(Either.isLeft(otherName) && otherName.left).toMatchObject({ failure: "permanent" })

    const refusing: Dial = async () => {
      throw new OutboundRefused("the outbound policy refused the host")
    }
    const refused = await failureOf((broker) => broker.publish([message("band-a", 2)]), {
      url: Redacted.make(`amqp://guest:guest@127.0.0.1:${server.port}`),
      dial: refusing
    })
    expect(Either.isLeft(refused) && refused.left).toMatchObject({ failure: "permanent" })
    expect(Either.isLeft(refused) && refused.left.message).toContain("the outbound policy refused the host")
  }, 90_000)
})

describe("the RabbitMQ module's publish channels", () => {
  it("gives a key always the same channel, and spreads a thousand bands over every channel", () => {
    const keys = Array.from({ length: 1000 }, (_, n) => `BAND-${String(n).padStart(4, "0")}`)
    expect(keys.map((key) => channelOf(key, 4))).toEqual(keys.map((key) => channelOf(key, 4)))
    const perChannel = [0, 0, 0, 0]
    for (const key of keys) perChannel[channelOf(key, 4)]! += 1
    // Even enough that no channel carries twice its share.
    expect(Math.min(...perChannel)).toBeGreaterThan(125)
    expect(Math.max(...perChannel)).toBeLessThan(500)
    expect(keys.every((key) => channelOf(key, 1) === 0)).toBe(true)
  })

  it("keeps each key's order across its channels, publish after publish", async () => {
    const channel = `rabbit-channels-${randomUUID().slice(0, 8)}`
    await captureQueue(channel)
    const seed = Date.now()
    console.log(`rabbit channels order: seed ${seed}`)
    let state = seed
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return state / 2 ** 32
    }
    // Keys in a random order, so that consecutive messages change channel at random.
    const keys = Array.from({ length: 40 }, (_, n) => `band-${n}`)
    const messages = Array.from({ length: 2000 }, (_, n) =>
      message(keys[Math.floor(random() * keys.length)]!, n)
    )
    expect(new Set(keys.map((key) => channelOf(key, 4))).size).toBe(4)
    await run(
      Effect.gen(function* () {
        const broker = yield* make(options(channel, { publishChannels: 4 }))
        for (let at = 0; at < messages.length; at += 500) yield* broker.publish(messages.slice(at, at + 500))
      })
    )
    const read = (await drain(`${channel}.capture`, messages.length)).map((got) => JSON.parse(bodyText(got)))
    expect(read.length).toBe(messages.length)
    for (const key of keys) {
      const sent = messages.filter((m) => m.key === key).map((m) => m.id)
      expect(read.filter((event) => event.data.key === key).map((event) => event.id)).toEqual(sent)
    }
  }, 90_000)

  it("fails the whole publish when one channel's message is refused, and that channel opens again", async () => {
    const channel = `rabbit-refused-${randomUUID().slice(0, 8)}`
    await captureQueue(channel)
    const keys = Array.from({ length: 12 }, (_, n) => `band-${n}`)
    const small = Array.from({ length: 120 }, (_, n) => message(keys[n % keys.length]!, n))
    // Over the node's max_message_size: the broker closes that channel; the others confirm their messages.
    const big = { ...message(keys[0]!, 120), body: JSON.stringify({ pad: "x".repeat(1_200_000) }) }
    const after = Array.from({ length: 24 }, (_, n) => message(keys[n % keys.length]!, 200 + n))
    const outcome = await run(
      Effect.gen(function* () {
        const broker = yield* make(options(channel, { publishChannels: 4 }))
        const refused = yield* Effect.either(broker.publish([...small.slice(0, 60), big, ...small.slice(60)]))
        const again = yield* Effect.either(broker.publish(after))
        return { refused, again }
      })
    )
    expect(Either.isLeft(outcome.refused) && outcome.refused.left).toMatchObject({ failure: "permanent" })
    expect(Either.isLeft(outcome.refused) && outcome.refused.left.message).toContain("PRECONDITION_FAILED")
    expect(Either.isRight(outcome.again)).toBe(true)
    // Every message of the second publish is there, the refused one's key on its reopened channel included.
    const read = (await drain(`${channel}.capture`, after.length)).map((got) => got.messageId)
    expect(read).not.toContain(big.id)
    const arrived = read.filter((id) => after.some((m) => m.id === id))
    for (const key of keys) {
      const sent = after.filter((m) => m.key === key).map((m) => m.id)
      expect(arrived.filter((id) => id !== undefined && sent.includes(id))).toEqual(sent)
    }
    expect(arrived.length).toBe(after.length)
  }, 90_000)
})
