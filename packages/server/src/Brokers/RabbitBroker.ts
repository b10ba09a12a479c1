import * as Net from "node:net"
import * as Tls from "node:tls"
import { Duration, Effect, Exit, Redacted, Runtime } from "effect"
import type { AsyncMessage, Connection, Envelope } from "rabbitmq-client"
import { OutboundRefused, reasonOf } from "../Outbound/OutboundErrors.js"
import {
  BrokerError,
  type BrokerMessage,
  type BrokerShape,
  type Dial,
  type Dialled,
  dialAsNamed,
  type ReceivedMessage
} from "./Broker.js"

export interface RabbitBrokerOptions {
  /** `amqp://user:pass@host:5672/vhost`, or `amqps://…` for TLS (port 5671 when absent). */
  readonly url: Redacted.Redacted
  /** The topic exchange messages are published to, and the consume queue is bound to. */
  readonly exchange: string
  /** The queue `consume` reads; a module that only publishes has none. */
  readonly queue?: string | undefined
  /** Binding keys from the exchange to `queue`, e.g. `band.registered.#`. */
  readonly bindingKeys?: ReadonlyArray<string> | undefined
  /**
   * Declare the exchange (durable, topic), the queue (durable) and its bindings, on every (re)connection.
   * Off: they must exist already (checked passively), and one that does not is a permanent failure.
   */
  readonly declare?: boolean | undefined
  /** How long a publish may take, the connection's recovery included, before it fails as transient. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Messages handed to `consume` at once and unacknowledged (the channel's prefetch). */
  readonly prefetch?: number | undefined
  /** How long a message whose handler failed waits before it goes back to the queue. */
  readonly retryDelay?: Duration.DurationInput | undefined
  /**
   * Confirm channels publishing side by side (default 4): each key (a band) always goes through the same one,
   * so its messages keep their order (RabbitMQ orders per channel) while the channels confirm in parallel.
   */
  readonly publishChannels?: number | undefined
  /** Resolves and vets the host on each connection attempt (Broker.ts). */
  readonly dial?: Dial | undefined
  /** More TLS settings for `amqps` (a private CA); the server name is always the URL's host. */
  readonly tls?: Omit<Tls.ConnectionOptions, "host" | "port" | "servername" | "socket"> | undefined
}

export const defaults = {
  timeout: Duration.seconds(10),
  prefetch: 16,
  retryDelay: Duration.seconds(1),
  publishChannels: 4
} as const

/** `tapline.tap.created` for `acme` is routed as `tap.created.acme`, so a queue binds `tap.created.#`. */
export const routingKeyOf = (message: Pick<BrokerMessage, "type" | "organizationSlug">) =>
  `${message.type.replace(/^tapline\./, "")}.${message.organizationSlug}`

/*
 * AMQP reply codes that come back the same until someone changes the broker's configuration or ours:
 * refused credentials or vhost, an exchange or queue that does not exist (declare off) or exists with other
 * arguments, a message over the broker's max_message_size, frames the broker cannot take.
 */
const PERMANENT_CODES = new Set([
  "ACCESS_REFUSED",
  "NOT_ALLOWED",
  "NOT_FOUND",
  "PRECONDITION_FAILED",
  "CONTENT_TOO_LARGE",
  "FRAME_ERROR",
  "SYNTAX_ERROR",
  "COMMAND_INVALID",
  "NOT_IMPLEMENTED",
  "INVALID_PATH"
])

const codeOf = (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** The dial refused the host, the certificate does not match it, or an AMQP code above. */
const isPermanent = (error: unknown) => {
  const code = codeOf(error)
  return (
    error instanceof OutboundRefused ||
    (code !== undefined && (PERMANENT_CODES.has(code) || code.includes("CERT")))
  )
}

/**
 * What an operator and a tenant may read: AMQP's own reply text (it names the exchange or queue, never the
 * credentials), our outbound errors' messages, and for a socket error its code only, since Node's message
 * names the address the host resolved to.
 */
const describe = (error: unknown): string => {
  if (error instanceof Error && error.name.startsWith("Outbound")) return reasonOf(error)
  const code = codeOf(error)
  if (error instanceof Error && error.name.startsWith("AMQP")) {
    // The client prefixes the AMQP method, `undefined` when the server closed during the handshake.
    const text = error.message.replace(/^undefined: /, "")
    return code === undefined || text.includes(code) ? text : `${code}: ${text}`
  }
  if (code !== undefined) return `the connection failed (${code})`
  return error instanceof Error ? error.name : String(error)
}

/** The id a consumer reports: the AMQP message id, else the CloudEvent's `id` when the body has one. */
const idOf = (message: AsyncMessage, body: string) => {
  if (message.messageId !== undefined && message.messageId !== "") return message.messageId
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id
    return typeof id === "string" ? id : undefined
  } catch {
    return undefined
  }
}

/** rabbitmq-client hands `application/json` bodies over parsed and `text/plain` as a string. */
const bodyOf = (message: AsyncMessage) =>
  Buffer.isBuffer(message.body)
    ? message.body.toString("utf8")
    : typeof message.body === "string"
      ? message.body
      : JSON.stringify(message.body)

/** Quorum queues count deliveries; classic queues only say whether a message was delivered before. */
const redeliveriesOf = (message: AsyncMessage) => {
  const count = message.headers?.["x-delivery-count"]
  return typeof count === "number" ? count : message.redelivered ? 1 : 0
}

/** The channel of `count` that carries `key`'s messages: always the same one (FNV-1a of the key). */
export const channelOf = (key: string, count: number) => {
  if (count <= 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % count
}

/** Never resolved: the dial answers for it (see `lookup`). `.invalid` is reserved for this (RFC 6761). */
const DIAL_PLACEHOLDER = "broker.dial.invalid"

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    })
  })

/**
 * RabbitMQ through rabbitmq-client: one connection that reconnects by itself (backoff 0.5–5 s), publisher
 * channels in confirm mode (`publishChannels`, a key always on the same one), a consumer channel per `consume`.
 */
export const make = (options: RabbitBrokerOptions) =>
  Effect.gen(function* () {
    const { Connection, ConsumerStatus } = yield* Effect.promise(() => import("rabbitmq-client"))
    const runtime = yield* Effect.runtime<never>()
    const log = (message: string) => Runtime.runFork(runtime)(Effect.logWarning(message))
    const timeoutMs = Duration.toMillis(options.timeout ?? defaults.timeout)
    const retryDelayMs = Duration.toMillis(options.retryDelay ?? defaults.retryDelay)
    const prefetch = options.prefetch ?? defaults.prefetch
    const declare = options.declare ?? true
    const dial = options.dial ?? dialAsNamed
    const exchange = options.exchange
    // The URL carries the password: neither error repeats it.
    const url = yield* Effect.try({
      try: () => new URL(Redacted.value(options.url)),
      catch: () =>
        new BrokerError({
          broker: "rabbitmq",
          failure: "permanent",
          message: "the broker URL does not parse"
        })
    })
    const secure = url.protocol === "amqps:"
    if (!secure && url.protocol !== "amqp:") {
      return yield* new BrokerError({
        broker: "rabbitmq",
        failure: "permanent",
        message: `the broker URL must be amqp:// or amqps://, not ${url.protocol}`
      })
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
    const port = Number(url.port || (secure ? 5671 : 5672))

    // Why the connection is down, since it went down: a publish that times out reports it.
    let connectionFailure: unknown
    // Waiting publishes and consumers, told at once when the connection fails for good.
    const refusedWatchers = new Set<(error: unknown) => void>()
    const connectionFailed = (error: unknown) => {
      connectionFailure = error
      if (isPermanent(error)) for (const watcher of refusedWatchers) watcher(error)
    }
    /** `run`, unless the connection is refused for good (credentials, dial, certificate): fails at once. */
    const unlessRefused = <A>(run: () => Promise<A>) =>
      new Promise<A>((resolve, reject) => {
        if (!connection.ready && isPermanent(connectionFailure)) return reject(connectionFailure)
        refusedWatchers.add(reject)
        run()
          .then(resolve, reject)
          .finally(() => refusedWatchers.delete(reject))
      })
    let dialled: Dialled | undefined
    /*
     * rabbitmq-client opens its sockets itself, synchronously, with no factory to hand it ours. A `lookup`
     * is the one asynchronous step Node's connect takes on each attempt: the dial runs there, once per
     * attempt, and the socket goes to the vetted address. The client is given a placeholder host so that
     * the lookup runs even when the URL names an address (Node skips it for addresses).
     */
    const lookup = (
      _name: string,
      lookupOptions: { readonly all?: boolean },
      callback: (
        error: Error | null,
        address: string | ReadonlyArray<{ address: string; family: number }>,
        family?: number
      ) => void
    ) => {
      dial(host, port).then(
        (vetted) => {
          if (vetted.port !== port) {
            const error = new OutboundRefused("the dial changed the broker's port, which AMQP cannot follow")
            connectionFailed(error)
            return callback(error, [])
          }
          dialled = vetted
          const family = Net.isIP(vetted.address) === 6 ? 6 : 4
          if (lookupOptions.all) callback(null, [{ address: vetted.address, family }])
          else callback(null, vetted.address, family)
        },
        (error: Error) => {
          connectionFailed(error)
          callback(error, [])
        }
      )
    }
    const verify = options.tls?.checkServerIdentity ?? Tls.checkServerIdentity
    const connection: Connection = new Connection({
      hostname: DIAL_PLACEHOLDER,
      port,
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      vhost: decodeURIComponent(url.pathname.slice(1)) || "/",
      socket: { port, lookup: lookup as Net.LookupFunction },
      ...(secure
        ? {
            tls: {
              ...options.tls,
              // SNI takes names only (RFC 6066); an address is checked as an address.
              ...(Net.isIP(host) === 0 ? { servername: host } : {}),
              checkServerIdentity: (_placeholder: string, certificate: Tls.PeerCertificate) =>
                verify(dialled?.servername ?? host, certificate)
            }
          }
        : {}),
      connectionName: "tapline",
      connectionTimeout: timeoutMs,
      acquireTimeout: timeoutMs,
      retryLow: 500,
      retryHigh: 5_000,
      heartbeat: 30
    })
    connection.on("error", (error) => {
      connectionFailed(error)
      log(`RabbitMQ connection: ${describe(error)}`)
    })
    connection.on("connection", () => {
      connectionFailure = undefined
    })
    connection.on("connection.blocked", (reason) => log(`RabbitMQ blocks publishing: ${reason}`))

    const failure = (cause: unknown): BrokerError => {
      // A timeout or a closed channel says nothing; the connection's own failure says why.
      const reason = isPermanent(cause) || connectionFailure === undefined ? cause : connectionFailure
      const because = reason === cause ? describe(cause) : `${describe(cause)}; ${describe(reason)}`
      return new BrokerError({
        broker: "rabbitmq",
        failure: isPermanent(reason) ? "permanent" : "transient",
        message: `RabbitMQ: ${because}`,
        cause
      })
    }

    // Each publisher is a channel of its own, opened on its first send and again after the broker closed it.
    const publishers = Array.from(
      { length: Math.max(1, options.publishChannels ?? defaults.publishChannels) },
      () =>
        connection.createPublisher({
          confirm: true,
          // No retry inside: a batch fails whole and the caller sends it again, in order.
          maxAttempts: 1,
          exchanges: [{ exchange, type: "topic", durable: true, passive: !declare }]
        })
    )
    yield* Effect.addFinalizer(() =>
      Effect.tryPromise(async () => {
        // Not connected: the publishers' channels are waiting for a connection; ending it ends that wait.
        if (!connection.ready) return connection.unsafeDestroy()
        await Promise.all(publishers.map((publisher) => publisher.close().catch(() => {})))
        await connection.close()
      }).pipe(
        Effect.timeout(timeoutMs),
        Effect.catchAll(() => Effect.sync(() => connection.unsafeDestroy()))
      )
    )

    const envelopeOf = (message: BrokerMessage): Envelope => ({
      exchange,
      routingKey: routingKeyOf(message),
      messageId: message.id,
      type: message.type,
      contentType: "application/cloudevents+json",
      // deliveryMode 2: written to disk, kept across a broker restart in a durable queue.
      durable: true
    })

    const publish: BrokerShape["publish"] = (messages) =>
      Effect.tryPromise({
        // Each message on its key's channel, written in the order given: the broker keeps each channel's order
        // into each queue, so a key's messages keep theirs. Succeeds once every channel confirmed all of its
        // own; one refusal fails the whole publish, which the caller sends again.
        try: () =>
          unlessRefused(() =>
            Promise.all(
              messages.map((m) =>
                publishers[channelOf(m.key, publishers.length)]!.send(
                  envelopeOf(m),
                  Buffer.from(m.body, "utf8")
                )
              )
            )
          ),
        catch: failure
      }).pipe(
        Effect.timeoutFail({
          duration: timeoutMs,
          onTimeout: () => failure(new Error(`the broker did not confirm within ${timeoutMs} ms`))
        }),
        Effect.as({ duplicates: 0 }),
        Effect.withSpan("Broker.publish", {
          attributes: { "broker.kind": "rabbitmq", "broker.messages": messages.length }
        })
      )

    const consume: BrokerShape["consume"] = (handle) =>
      Effect.gen(function* () {
        const queue = options.queue
        if (queue === undefined) {
          return yield* new BrokerError({
            broker: "rabbitmq",
            failure: "permanent",
            message: "RabbitMQ: no queue to consume is configured"
          })
        }
        const stopping = new AbortController()
        const consumer = connection.createConsumer(
          {
            queue,
            queueOptions: { durable: true, passive: !declare },
            exchanges: declare ? [{ exchange, type: "topic", durable: true }] : [],
            queueBindings: declare
              ? (options.bindingKeys ?? []).map((routingKey) => ({ exchange, queue, routingKey }))
              : [],
            qos: { prefetchCount: prefetch },
            concurrency: prefetch,
            requeue: true
          },
          async (message) => {
            const body = bodyOf(message)
            const received: ReceivedMessage = {
              id: idOf(message, body),
              body,
              redeliveries: redeliveriesOf(message)
            }
            const exit = await Runtime.runPromiseExit(runtime)(handle(received), { signal: stopping.signal })
            if (Exit.isSuccess(exit)) return ConsumerStatus.ACK
            // Back to the queue, not at once: a handler failing on every delivery would spin otherwise.
            // The other prefetched messages go on meanwhile.
            await sleep(retryDelayMs, stopping.signal)
            return ConsumerStatus.REQUEUE
          }
        )
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => stopping.abort()).pipe(
            Effect.zipRight(Effect.tryPromise(() => consumer.close())),
            Effect.timeout(timeoutMs),
            Effect.ignore
          )
        )
        // Returns once the queue is declared and bound (a publish after it reaches it), fails when that is
        // refused for good, and otherwise leaves the consumer retrying on its own.
        const ready = yield* Effect.async<boolean, BrokerError>((resume) => {
          const settle = (outcome: Effect.Effect<boolean, BrokerError>) => {
            stopWatching()
            resume(outcome)
          }
          const onReady = () => settle(Effect.succeed(true))
          const onRefused = (error: unknown) => settle(Effect.fail(failure(error)))
          const onError = (error: unknown) => {
            const failed = failure(error)
            if (failed.failure === "permanent") settle(Effect.fail(failed))
            else log(`RabbitMQ consumer of ${queue}: ${failed.message}`)
          }
          const stopWatching = () => {
            consumer.off("ready", onReady)
            consumer.off("error", onError)
            refusedWatchers.delete(onRefused)
          }
          consumer.once("ready", onReady)
          consumer.on("error", onError)
          refusedWatchers.add(onRefused)
          if (!connection.ready && isPermanent(connectionFailure)) onRefused(connectionFailure)
          return Effect.sync(stopWatching)
        }).pipe(Effect.timeoutTo({ duration: timeoutMs, onSuccess: () => true, onTimeout: () => false }))
        if (!ready) log(`RabbitMQ consumer of ${queue} is not ready yet; it keeps trying`)
        consumer.on("error", (error) => log(`RabbitMQ consumer of ${queue}: ${describe(error)}`))
      })

    return { kind: "rabbitmq", publish, consume } satisfies BrokerShape
  })
