// bench:streams' brokers: the test package's private Kafka, RabbitMQ and NATS starters (compiled from their
// TypeScript with the repository's tsc, since the bench runs on plain node), and a bare client of each (the
// library Tapline uses, loaded from packages/server) publishing messages with the acknowledgements Tapline
// waits for: Kafka idempotent acks=all, RabbitMQ persistent with publisher confirms, JetStream acks with
// Nats-Msg-Id.
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { onExit } from "./support.mjs"

const root = Path.resolve(import.meta.dirname, "..")
const serverRequire = createRequire(Path.join(root, "packages/server/package.json"))
/** A client library as packages/server resolves it. */
const library = (name) => import(pathToFileURL(serverRequire.resolve(name)).href)

/** Kafka, RabbitMQ and NATS (or those of `kinds`) started side by side; each with `dispose`, removed on exit. */
export const startBrokers = async (kinds = ["kafka", "rabbitmq", "nats"]) => {
  // Beside the sources' folder, not in /tmp: kafkaBroker finds scripts/kafka/pom.xml relative to itself.
  const out = Fs.mkdtempSync(Path.join(root, "packages/testing/.bench-starters-"))
  onExit(async () => Fs.rmSync(out, { recursive: true, force: true }))
  const sources = ["kafkaBroker", "rabbitServer", "natsServer", "ports"].map((name) =>
    Path.join(root, "packages/testing/src", `${name}.ts`)
  )
  execFileSync(
    Path.join(root, "node_modules/.bin/tsc"),
    ["--outDir", out, "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022"]
      .concat(["--types", "node", "--typeRoots", Path.join(root, "node_modules/@types"), "--skipLibCheck"])
      .concat(sources),
    { stdio: "inherit" }
  )
  Fs.writeFileSync(Path.join(out, "package.json"), '{ "type": "module" }')
  const load = (name) => import(pathToFileURL(Path.join(out, `${name}.js`)).href)
  const [{ startKafkaBroker }, { startRabbitServer }, { startNatsServer }] = await Promise.all(
    ["kafkaBroker", "rabbitServer", "natsServer"].map(load)
  )
  const started = await Promise.allSettled([
    kinds.includes("kafka") ? startKafkaBroker() : undefined,
    kinds.includes("rabbitmq") ? startRabbitServer() : undefined,
    kinds.includes("nats") ? startNatsServer() : undefined
  ])
  // Those that did start are stopped on exit, also when another failed to.
  for (const s of started)
    if (s.status === "fulfilled" && s.value !== undefined) onExit(() => s.value.dispose())
  const failed = started.find((s) => s.status === "rejected")
  if (failed !== undefined) throw failed.reason
  const [kafka, rabbit, nats] = started.map((s) => s.value)
  return { kafka, rabbit, nats }
}

const chunksOf = (messages) => {
  const chunks = [[]]
  let bytes = 0
  for (const m of messages) {
    const size = Buffer.byteLength(m.body) + Buffer.byteLength(m.key) + 96
    if (chunks.at(-1).length > 0 && bytes + size > 512 * 1024) {
      chunks.push([])
      bytes = 0
    }
    chunks.at(-1).push(m)
    bytes += size
  }
  return chunks
}

/** RabbitBroker's and NatsBroker's defaults, which the bare clients follow. */
export const RABBIT_CHANNELS = 4
export const NATS_IN_FLIGHT = 1024

/** RabbitBroker.channelOf's hash: the channel of a key is `fnv1a(key) % channels`. */
const fnv1a = (key) => {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return hash >>> 0
}

/** A bare publisher per broker: `publish(batch)` resolves once the broker acknowledged every message. */
export const barePublishers = {
  kafka: async ({ kafka }, topic) => {
    const { Admin, Producer, ProduceAcks, stringSerializers } = await library("@platformatic/kafka")
    const admin = new Admin({ clientId: "bench-bare", bootstrapBrokers: [kafka.bootstrap] })
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
    await admin.close()
    const producer = new Producer({
      clientId: "bench-bare",
      bootstrapBrokers: [kafka.bootstrap],
      idempotent: true,
      acks: ProduceAcks.ALL,
      serializers: stringSerializers
    })
    return {
      // A batch of 5 000 CloudEvents is over the broker's 1 MiB limit for a partition's batch: whoever publishes
      // it splits it, in order, as Tapline's module does (512 KiB a request).
      publish: async (batch) => {
        for (const chunk of chunksOf(batch)) {
          await producer.send({
            messages: chunk.map((m) => ({
              topic,
              key: m.key,
              value: m.body,
              headers: { ce_id: m.id, ce_type: m.type, "content-type": "application/cloudevents+json" }
            }))
          })
        }
      },
      close: () => producer.close(true)
    }
  },
  // `channels` confirm channels, each key always on the same one, as RabbitBroker publishes.
  rabbitmq: async ({ rabbit }, exchange, { channels = RABBIT_CHANNELS } = {}) => {
    const { Connection } = await library("rabbitmq-client")
    const connection = new Connection(rabbit.url)
    await captureQueue(connection, exchange)
    const publishers = Array.from({ length: channels }, () =>
      connection.createPublisher({
        confirm: true,
        maxAttempts: 1,
        exchanges: [{ exchange, type: "topic", durable: true }]
      })
    )
    return {
      publish: (batch) =>
        Promise.all(
          batch.map((m) =>
            publishers[fnv1a(m.key) % channels].send(
              {
                exchange,
                routingKey: `tap.created.${m.slug}`,
                messageId: m.id,
                type: m.type,
                contentType: "application/cloudevents+json",
                durable: true
              },
              Buffer.from(m.body, "utf8")
            )
          )
        ),
      close: async () => {
        await Promise.all(publishers.map((publisher) => publisher.close()))
        await connection.close()
      }
    }
  },
  // A sliding window of `inFlight` publishes, in order, on a connection without async stack traces, as
  // NatsBroker publishes.
  nats: async ({ nats }, stream, { inFlight = NATS_IN_FLIGHT, asyncTraces = false } = {}) => {
    const { connect, headers: natsHeaders } = await library("@nats-io/transport-node")
    const { jetstream, jetstreamManager } = await library("@nats-io/jetstream")
    const nc = await connect({ servers: nats.url, noAsyncTraces: !asyncTraces })
    const subject = `${stream.toLowerCase()}.>`
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [subject] })
    const js = jetstream(nc)
    const publishOne = (m) => {
      const headers = natsHeaders()
      headers.set("Content-Type", "application/cloudevents+json")
      return js.publish(`${stream.toLowerCase()}.${m.slug}.tap.created`, m.body, {
        msgID: m.id,
        headers,
        expect: { streamName: stream }
      })
    }
    return {
      publish: (batch) =>
        new Promise((resolve, reject) => {
          let started = 0
          let settled = 0
          let failed
          const next = () => {
            settled += 1
            if (failed === undefined && started < batch.length) start()
            else if (settled === started) failed === undefined ? resolve() : reject(failed)
          }
          const start = () =>
            publishOne(batch[started++]).then(next, (error) => {
              failed ??= error
              next()
            })
          while (started < Math.min(inFlight, batch.length)) start()
        }),
      close: () => nc.close()
    }
  }
}

/**
 * A durable queue bound to everything on `exchange`, so what is published there is stored (as a consumer's
 * queue would store it) and not dropped as unroutable. A classic queue of version 2 by default, the only
 * version RabbitMQ 4 has (Debian's 3.10 still defaults to 1); BENCH_RABBIT_QUEUE_VERSION=1 for the old one.
 */
export const captureQueue = async (connection, exchange) => {
  const version = Number(process.env.BENCH_RABBIT_QUEUE_VERSION ?? 2)
  await connection.exchangeDeclare({ exchange, type: "topic", durable: true })
  await connection.queueDeclare({
    queue: `${exchange}.all`,
    durable: true,
    arguments: { "x-queue-version": version }
  })
  await connection.queueBind({ queue: `${exchange}.all`, exchange, routingKey: "#" })
}

/** The RabbitMQ capture queue for the sink's exchange, declared before the sink publishes. */
export const rabbitCapture = async ({ rabbit }, exchange) => {
  const { Connection } = await library("rabbitmq-client")
  const connection = new Connection(rabbit.url)
  await captureQueue(connection, exchange)
  await connection.close()
}
