import { randomUUID } from "node:crypto"
import { type JetStreamManager, jetstream, jetstreamManager, type StoredMsg } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as NatsBroker from "../src/Brokers/NatsBroker.js"
import { brokerContract } from "./support/BrokerContract.js"

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
export const withBare = async <A>(run: (nc: NatsConnection, jsm: JetStreamManager) => Promise<A>) => {
  const nc = await connect({ servers: nats.url })
  try {
    return await run(nc, await jetstreamManager(nc))
  } finally {
    await nc.close()
  }
}

export const optionsFor = (channel: string, url = nats.url): NatsBroker.NatsBrokerOptions => ({
  url: Redacted.make(url),
  stream: { name: channel, create: true, subjects: [`tapline.${channel}.>`] },
  consumer: { name: "registrations", filterSubject: `tapline.${channel}.band.>` },
  deadline: "5 seconds",
  reconnectWait: "250 millis",
  retryBackoff: { initial: "200 millis", max: "2 seconds" }
})

/** Every message of a stream, read with the bare client, once it holds at least `count`. */
export const stored = async (manager: JetStreamManager, stream: string, count: number) => {
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

export const slugFor = (what: string) => `nats-${what}-${randomUUID().slice(0, 8)}`
