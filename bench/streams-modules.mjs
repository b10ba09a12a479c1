// bench:streams' module part, for tuning (`node bench/streams-modules.mjs` after `pnpm build`): Tapline's
// RabbitMQ and NATS modules (packages/server/dist) against the bare clients, alone in this process on CPU 0,
// publishing the same CloudEvents in batches of 5 000, 2 batches in flight (the sink's TAP_WRITER_CONCURRENCY).
// No writer shares the core, so this is what each module costs beside its library; bench/streams.mjs measures
// the sink beside the writer. BENCH_CHANNELS (RabbitMQ publish channels, default "1,2,4,8"), BENCH_IN_FLIGHT
// (NATS, default "256,1024"), BENCH_TAPS (50 000), BENCH_KINDS (default "rabbitmq,nats"). CPU µs per message is
// this process's user + system time over the messages: steadier than msgs/s on a shared machine.
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { v7 as uuidv7 } from "uuid"
import { SERVER_CPU } from "./redirect-servers.mjs"
import { barePublishers, captureQueue, startBrokers } from "./streams-brokers.mjs"
import { runBench } from "./support.mjs"

const TAPS = Number(process.env.BENCH_TAPS ?? 50_000)
const BATCH = 5000
const LANES = 2
const KINDS = (process.env.BENCH_KINDS ?? "rabbitmq,nats").split(",")
const CHANNELS = (process.env.BENCH_CHANNELS ?? "1,2,4,8").split(",").map(Number)
const IN_FLIGHT = (process.env.BENCH_IN_FLIGHT ?? "256,1024").split(",").map(Number)
const run = randomUUID().slice(0, 8)
const root = Path.resolve(import.meta.dirname, "..")
const serverRequire = createRequire(Path.join(root, "packages/server/package.json"))
const { Effect, Exit, Redacted, Scope } = await import(pathToFileURL(serverRequire.resolve("effect")).href)
const dist = (name) => import(pathToFileURL(Path.join(root, "packages/server/dist", name)).href)

/** The demo's shape: 1 000 bands, taps rendered by the server's own CloudEvents.tap. */
const messagesFor = async () => {
  const CloudEvents = await dist("Streams/CloudEvents.js")
  const origin = new URL("http://127.0.0.1:3000")
  const organization = { id: uuidv7(), slug: "demo" }
  const bands = Array.from({ length: 1000 }, (_, n) => ({
    id: uuidv7(),
    uid: `BAND-${String(n).padStart(4, "0")}`
  }))
  const now = Date.now()
  return Array.from({ length: TAPS }, (_, i) => {
    const band = bands[i % bands.length]
    const m = CloudEvents.tap(origin, organization, {
      id: uuidv7(),
      orgId: organization.id,
      eventId: organization.id,
      bandId: band.id,
      bandUid: band.uid,
      windowId: null,
      mode: "LIVE",
      kind: "FALLBACK",
      url: "https://example.com/demo/live",
      at: now - (TAPS - i),
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
      ip: "203.0.113.0",
      utm: null,
      bot: false,
      dup: false,
      assign: null
    })
    return { ...m, slug: m.organizationSlug }
  })
}

/** msgs/s of `publish` over every message, LANES batches in flight, this process on CPU 0. */
const timed = async (messages, publish) => {
  execFileSync("taskset", ["-a", "-p", "-c", String(SERVER_CPU), String(process.pid)], { stdio: "ignore" })
  const started = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  let next = 0
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      while (next < messages.length) {
        const at = next
        next += BATCH
        await publish(messages.slice(at, at + BATCH))
      }
    })
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  return { rate: messages.length / seconds, cpuPerMessageUs: (used.user + used.system) / messages.length }
}

/** The module from packages/server/dist, made in a scope of its own, publishing `messages`. */
const moduleRun = async (messages, make) => {
  const scope = Effect.runSync(Scope.make())
  try {
    const broker = await Effect.runPromise(Scope.extend(make(), scope))
    return await timed(messages, (batch) => Effect.runPromise(broker.publish(batch)))
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const bareRun = async (brokers, kind, messages, name, options) => {
  const publisher = await barePublishers[kind](brokers, name, options)
  try {
    return await timed(messages, publisher.publish)
  } finally {
    await publisher.close()
  }
}

const show = (label, { rate, cpuPerMessageUs }) =>
  console.log(
    `  ${label.padEnd(36)} ${rate.toFixed(0).padStart(6)} msgs/s   ${cpuPerMessageUs.toFixed(1)} µs CPU/msg`
  )

const main = async () => {
  console.log("starting the private brokers …")
  const brokers = await startBrokers(KINDS)
  const messages = await messagesFor()
  if (KINDS.includes("rabbitmq")) {
    const RabbitBroker = await dist("Brokers/RabbitBroker.js")
    const { Connection } = await import(pathToFileURL(serverRequire.resolve("rabbitmq-client")).href)
    console.log(`rabbitmq, ${TAPS} messages:`)
    for (const channels of CHANNELS) {
      const exchange = `bench-module-${run}-${channels}`
      const admin = new Connection(brokers.rabbit.url)
      await captureQueue(admin, exchange)
      await admin.close()
      const url = Redacted.make(brokers.rabbit.url)
      show(
        `module, ${channels} channel(s)`,
        await moduleRun(messages, () => RabbitBroker.make({ url, exchange, publishChannels: channels }))
      )
      show(
        `bare, ${channels} channel(s)`,
        await bareRun(brokers, "rabbitmq", messages, `bench-bare-${run}-${channels}`, { channels })
      )
    }
  }
  if (KINDS.includes("nats")) {
    const NatsBroker = await dist("Brokers/NatsBroker.js")
    console.log(`nats, ${TAPS} messages:`)
    for (const inFlight of IN_FLIGHT) {
      const name = `MODULE_${run}_${inFlight}`
      show(
        `module, ${inFlight} in flight`,
        await moduleRun(messages, () =>
          NatsBroker.make({
            url: Redacted.make(brokers.nats.url),
            stream: { name, create: true, subjects: [`tapline.${name.toLowerCase()}.>`] },
            inFlight
          }).pipe(
            Effect.map((broker) => ({
              ...broker,
              publish: (batch) =>
                broker.publish(batch.map((m) => ({ ...m, organizationSlug: name.toLowerCase() })))
            }))
          )
        )
      )
      show(
        `bare, ${inFlight} in flight`,
        await bareRun(brokers, "nats", messages, `BARE_${run}_${inFlight}`, { inFlight })
      )
      // nats.js's default, which NatsBroker turns off: two stack traces captured for every request.
      show(
        `bare, ${inFlight} in flight, async traces`,
        await bareRun(brokers, "nats", messages, `TRACES_${run}_${inFlight}`, { inFlight, asyncTraces: true })
      )
    }
  }
}

runBench(main)
