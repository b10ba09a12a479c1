import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import {
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers
} from "@platformatic/kafka"
import { type KafkaBroker, startKafkaBroker } from "@tapline/testing/kafkaBroker"
import { Effect, Either, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as KafkaBrokerModule from "../src/Brokers/KafkaBroker.js"
import { brokerContract, message } from "./support/BrokerContract.js"

/*
 * The Broker contract against a private one-node Kafka (KRaft) broker started once for the file, read and
 * written through @platformatic/kafka's own Producer and Consumer; then what only Kafka promises: an
 * idempotent producer with acks=all, and a band's messages in one partition, in order.
 */

let broker: KafkaBroker
beforeAll(async () => {
  broker = await startKafkaBroker()
}, 240_000)
afterAll(async () => {
  await broker?.dispose()
})

const client = () => ({ clientId: "contract-bare", bootstrapBrokers: [broker.bootstrap] })

const make = (topic: string, extra: Partial<KafkaBrokerModule.KafkaOptions> = {}) =>
  KafkaBrokerModule.make({
    brokers: [broker.bootstrap],
    topic,
    groupId: `${topic}-group`,
    createTopic: true,
    partitions: 3,
    deadline: "10 seconds",
    ...extra
  })

interface Read {
  readonly key: string | undefined
  readonly body: string
  readonly partition: number
  readonly offset: bigint
  readonly headers: ReadonlyMap<string, string>
}

/** Reads `topic` from the start, under a group of its own, until `count` arrived and every partition's end. */
const readAll = async (topic: string, count: number): Promise<ReadonlyArray<Read>> => {
  const consumer = new Consumer({
    ...client(),
    groupId: `read-${randomUUID()}`,
    deserializers: stringDeserializers,
    maxWaitTime: 200
  })
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false
    })
    const read: Array<Read> = []
    stream.on("data", (m) =>
      read.push({
        key: m.key === "" || m.key === undefined ? undefined : m.key,
        body: m.value,
        partition: m.partition,
        offset: m.offset,
        headers: m.headers
      })
    )
    for (;;) {
      if (read.length >= count) {
        // "Every message there is by then": caught up with each partition's end as it is now.
        const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? []
        const caughtUp = ends.every((end, partition) => {
          const last = read.filter((m) => m.partition === partition).at(-1)
          return end === 0n || (last !== undefined && last.offset + 1n >= end)
        })
        if (caughtUp) break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    await stream.close()
    return read
  } finally {
    await consumer.close(true)
  }
}

/** Publishes with a bare producer; right after a broker restart a send can hang, so each try is bounded. */
const publishRaw = async (topic: string, bodies: ReadonlyArray<string>) => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const producer = new Producer({ ...client(), serializers: stringSerializers })
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        producer.send({ messages: bodies.map((value) => ({ topic, value })), acks: ProduceAcks.ALL }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("publishRaw: no acknowledgement in 10 s")), 10_000)
        })
      ])
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      console.log(`publishRaw tries again: ${error}`)
    } finally {
      clearTimeout(timer)
      producer.close(true, () => {})
    }
  }
}

brokerContract({
  kind: "kafka",
  make: (channel) => make(channel),
  readBack: readAll,
  publishRaw,
  dedupes: false,
  server: { stop: () => broker.stop(), start: () => broker.start() }
})

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(effect))
const topicName = (what: string) => `kafka-${what}-${randomUUID().slice(0, 8)}`

/** The record batches of a partition as the broker stored them (Kafka's log format v2, byte for byte). */
const storedBatches = (topic: string, partition: number) => {
  const folder = Path.join(broker.dataDir, `${topic}-${partition}`)
  return Fs.readdirSync(folder)
    .filter((file) => file.endsWith(".log"))
    .sort()
    .flatMap((file) => {
      const log = Fs.readFileSync(Path.join(folder, file))
      const batches: Array<{ producerId: bigint; baseSequence: number; records: number }> = []
      for (let at = 0; at + 61 <= log.length; at += 12 + log.readInt32BE(at + 8)) {
        batches.push({
          producerId: log.readBigInt64BE(at + 43),
          baseSequence: log.readInt32BE(at + 53),
          records: log.readInt32BE(at + 57)
        })
      }
      return batches
    })
}

const produceApi = 0
const initProducerIdApi = 22

/** Reads an unsigned varint at `at`: its value and the offset after it. */
const uvarint = (buffer: Buffer, at: number): [number, number] => {
  let value = 0
  for (let shift = 0; ; shift += 7) {
    const byte = buffer[at++]!
    value |= (byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [value, at]
  }
}

/** What a request says: its API, its version and, for a Produce, its acks (Kafka's request header v1/v2). */
const requestOf = (frame: Buffer) => {
  const apiKey = frame.readInt16BE(0)
  const apiVersion = frame.readInt16BE(2)
  if (apiKey !== produceApi) return { apiKey, apiVersion }
  let at = 10 + Math.max(0, frame.readInt16BE(8)) // correlation id, client id
  const flexible = apiVersion >= 9
  if (flexible) {
    let tags: number
    ;[tags, at] = uvarint(frame, at)
    for (let n = 0; n < tags; n++) {
      let size: number
      ;[, at] = uvarint(frame, at)
      ;[size, at] = uvarint(frame, at)
      at += size
    }
    let length: number
    ;[length, at] = uvarint(frame, at) // transactional id, compact nullable
    at += Math.max(0, length - 1)
  } else at += 2 + Math.max(0, frame.readInt16BE(at))
  return { apiKey, apiVersion, acks: frame.readInt16BE(at) }
}

/** A TCP relay in front of the broker's relay listener, reading every request the clients send. */
const startRelay = async (to: number, at: number) => {
  const sent: Array<{ apiKey: number; apiVersion: number; acks?: number }> = []
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const upstream = Net.connect({ host: "127.0.0.1", port: to })
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    upstream.pipe(client)
    let pending = Buffer.alloc(0)
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk)
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        sent.push(requestOf(pending.subarray(4, 4 + pending.readInt32BE(0))))
        pending = pending.subarray(4 + pending.readInt32BE(0))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(at, "127.0.0.1", resolve))
  return {
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

describe("the kafka broker module (Kafka's own promises)", () => {
  it("publishes through an idempotent producer: the broker stored every batch with a producer id and sequence", async () => {
    const topic = topicName("idempotent")
    const messages = Array.from({ length: 40 }, (_, n) => message("band-a", n))
    await run(
      Effect.flatMap(make(topic, { partitions: 1 }), (module) =>
        Effect.forEach([0, 10, 20, 30], (at) => module.publish(messages.slice(at, at + 10)))
      )
    )
    const batches = storedBatches(topic, 0)
    expect(batches.reduce((n, b) => n + b.records, 0)).toBe(40)
    // A producer that is not idempotent stores producer id -1 and sequence -1.
    expect(batches.every((b) => b.producerId >= 0n)).toBe(true)
    expect(new Set(batches.map((b) => b.producerId)).size).toBe(1)
    let next = 0
    for (const batch of batches) {
      expect(batch.baseSequence).toBe(next)
      next += batch.records
    }
  }, 60_000)

  it("publishes with acks=all from an idempotent producer: every Produce request it sends says so", async () => {
    const relay = await startRelay(broker.relay.port, broker.relay.advertisedPort)
    try {
      const topic = topicName("acks")
      await run(
        Effect.flatMap(make(topic, { brokers: [`127.0.0.1:${broker.relay.advertisedPort}`] }), (module) =>
          Effect.forEach([0, 1, 2], (n) => module.publish([message("band-a", n), message("band-b", n)]))
        )
      )
      const produces = relay.sent.filter((r) => r.apiKey === produceApi)
      expect(produces.length).toBeGreaterThan(0)
      expect(produces.every((r) => r.acks === -1)).toBe(true)
      // A producer id asked for before the first Produce: the producer is idempotent.
      const first = relay.sent.findIndex((r) => r.apiKey === produceApi)
      expect(relay.sent.slice(0, first).some((r) => r.apiKey === initProducerIdApi)).toBe(true)
    } finally {
      await relay.close()
    }
  }, 60_000)

  it("keeps a band's messages in one partition, in order, with the CloudEvents headers", async () => {
    const seed = Date.now()
    console.log(`seed ${seed}`)
    let state = seed
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31
      return state / 2 ** 31
    }
    const topic = topicName("bands")
    const bands = Array.from({ length: 12 }, (_, n) => `band-${n}-${randomUUID().slice(0, 4)}`)
    const messages = Array.from({ length: 300 }, (_, n) =>
      message(bands[Math.floor(random() * bands.length)]!, n)
    )
    await run(
      Effect.flatMap(make(topic, { partitions: 4 }), (module) =>
        Effect.forEach([0, 100, 200], (at) => module.publish(messages.slice(at, at + 100)))
      )
    )
    const read = await readAll(topic, messages.length)
    expect(read.length).toBe(messages.length)
    for (const band of bands) {
      const mine = read.filter((m) => m.key === band)
      expect(new Set(mine.map((m) => m.partition)).size).toBeLessThanOrEqual(1)
      const sent = messages.filter((m) => m.key === band).map((m) => m.id)
      expect(mine.map((m) => JSON.parse(m.body).id)).toEqual(sent)
    }
    // More than one partition in use, or the test above proves nothing.
    expect(new Set(read.map((m) => m.partition)).size).toBeGreaterThan(1)
    const byId = new Map(messages.map((m) => [m.id, m]))
    for (const m of read) {
      const sent = byId.get(m.headers.get("ce_id") ?? "")
      expect(sent?.body).toBe(m.body)
      expect(m.headers.get("ce_type")).toBe("tapline.tap.created")
      expect(m.headers.get("content-type")).toBe("application/cloudevents+json")
    }
  }, 60_000)

  it("publishes a tap sink's full batch (5 000 CloudEvents, over the broker's 1 MiB batch limit) in order", async () => {
    // Before the split a batch this size failed for good with MESSAGE_TOO_LARGE: a sink that fell behind
    // (a backlog after an outage, a reclaimed batch) was stuck on it.
    const topic = topicName("full-batch")
    const messages = Array.from({ length: 5000 }, (_, n) => {
      const m = message(`band-${n % 50}`, n)
      return { ...m, body: JSON.stringify({ ...JSON.parse(m.body), pad: "x".repeat(450) }) }
    })
    expect(messages.reduce((n, m) => n + m.body.length, 0)).toBeGreaterThan(3 * 1024 * 1024)
    await run(Effect.flatMap(make(topic, { partitions: 3 }), (module) => module.publish(messages)))
    const read = await readAll(topic, messages.length)
    expect(read.length).toBe(messages.length)
    for (let band = 0; band < 50; band++) {
      const sent = messages.filter((m) => m.key === `band-${band}`).map((m) => m.id)
      expect(read.filter((m) => m.key === `band-${band}`).map((m) => JSON.parse(m.body).id)).toEqual(sent)
    }
  }, 120_000)

  it("fails permanently for a topic that is missing and may not be created, and for a message over the limit", async () => {
    const missing = await run(
      Effect.flatMap(make(topicName("missing"), { createTopic: false }), (module) =>
        Effect.either(module.publish([message("band-a", 0)]))
      )
    )
    expect(Either.isLeft(missing) && missing.left.failure).toBe("permanent")
    const topic = topicName("large")
    const large = await run(
      Effect.flatMap(make(topic), (module) =>
        Effect.gen(function* () {
          const big = message("band-a", 0)
          // The broker's message.max.bytes is about 1 MiB.
          const tooLarge = yield* Effect.either(
            module.publish([{ ...big, body: "x".repeat(2 * 1024 * 1024) }])
          )
          // The same module publishes again afterwards: the refusal retired nothing it needs.
          yield* module.publish([message("band-a", 1)])
          return tooLarge
        })
      )
    )
    expect(Either.isLeft(large) && large.left.failure).toBe("permanent")
  }, 60_000)
})
