import { randomUUID } from "node:crypto"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Consumer, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka"
import { Connection } from "rabbitmq-client"

/*
 * Bare clients (each broker's own library, not our Broker modules) reading back what platform sinks published,
 * for the fault tests: every CloudEvent of one organisation, as stored at the broker, duplicates included.
 */

export interface Published {
  readonly id: string
  readonly source: string
}

const eventOf = (body: string): Published => {
  const event = JSON.parse(body) as Published
  return { id: event.id, source: event.source }
}

/** Every message of `stream` on `tapline.<slug>.>`, through an ordered consumer from the start. */
export const readNats = async (
  url: string,
  stream: string,
  slug: string
): Promise<ReadonlyArray<Published>> => {
  const nc = await connect({ servers: url })
  try {
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: `tapline.${slug}.>` })
    const read: Array<Published> = []
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 })
      let got = 0
      let pending = 0
      for await (const m of batch) {
        got += 1
        read.push(eventOf(m.string()))
        pending = m.info.pending
        if (pending === 0) break
      }
      if (got === 0 || pending === 0) return read
    }
  } finally {
    await nc.close()
  }
}

/** How many messages `stream` holds (0 before it exists). */
export const countNats = async (url: string, stream: string): Promise<number> => {
  const nc = await connect({ servers: url })
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream).catch(() => undefined)
    return info?.state.messages ?? 0
  } finally {
    await nc.close()
  }
}

/** How many messages `topic` holds: the sum of its partitions' ends (0 before it exists). */
export const countKafka = async (bootstrap: string, topic: string): Promise<number> => {
  const consumer = new Consumer({
    clientId: "faults-bare",
    bootstrapBrokers: [bootstrap],
    groupId: `count-${randomUUID()}`,
    deserializers: stringDeserializers
  })
  try {
    const ends = await consumer.listOffsets({ topics: [topic] }).catch(() => undefined)
    return (ends?.get(topic) ?? []).reduce((sum, end) => sum + Number(end), 0)
  } finally {
    await consumer.close(true)
  }
}

/** Every message of `topic` as it is now (up to each partition's end), under a group of its own. */
export const readKafka = async (bootstrap: string, topic: string): Promise<ReadonlyArray<Published>> => {
  const consumer = new Consumer({
    clientId: "faults-bare",
    bootstrapBrokers: [bootstrap],
    groupId: `read-${randomUUID()}`,
    deserializers: stringDeserializers,
    maxWaitTime: 200
  })
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? []
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false
    })
    const read: Array<Published> = []
    const last = new Map<number, bigint>()
    stream.on("data", (m) => {
      read.push(eventOf(m.value))
      last.set(m.partition, m.offset)
    })
    const deadline = Date.now() + 60_000
    while (!ends.every((end, p) => end === 0n || (last.get(p) ?? -1n) + 1n >= end)) {
      if (Date.now() > deadline) throw new Error(`${topic}: not read to its end in 60 s`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await stream.close()
    return read
  } finally {
    await consumer.close(true)
  }
}

/**
 * A durable queue bound to `tap.created.<slug>` on the sink's exchange, declared before the sink publishes
 * (a topic exchange keeps nothing for queues bound later); `read` takes what arrived since (cumulative).
 */
export const rabbitCapture = async (url: string, exchange: string, slug: string) => {
  const connection = new Connection(url)
  // The broker goes away on purpose: the client reconnects by itself, and `read` is polled again.
  connection.on("error", () => {})
  const queue = `faults.${slug}`
  await connection.exchangeDeclare({ exchange, type: "topic", durable: true })
  await connection.queueDeclare({ queue, durable: true })
  await connection.queueBind({ queue, exchange, routingKey: `tap.created.${slug}` })
  const read: Array<Published> = []
  return {
    /** What arrived so far; while the broker is away or the client reconnecting, what was read before. */
    read: async (): Promise<ReadonlyArray<Published>> => {
      const channel = await connection.acquire().catch(() => undefined)
      if (channel === undefined) return [...read]
      try {
        for (;;) {
          const got = await channel.basicGet({ queue, noAck: true }).catch(() => undefined)
          if (got === undefined) return [...read]
          read.push(eventOf(Buffer.isBuffer(got.body) ? got.body.toString("utf8") : String(got.body)))
        }
      } finally {
        await channel.close().catch(() => {})
      }
    },
    /** Messages in the queue not yet read. */
    count: async () => (await connection.queueDeclare({ queue, passive: true })).messageCount,
    close: () => connection.close()
  }
}
