import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream"
import type { ConnectionOptions, NatsConnection, TlsOptions } from "@nats-io/transport-node"
import { Duration, Effect, Exit, Redacted, Schedule } from "effect"
import { categoryOf } from "../Outbound/OutboundErrors.js"
import {
  BrokerError,
  type BrokerMessage,
  type BrokerShape,
  type Dial,
  type Dialled,
  dialAsNamed,
  type ReceivedMessage
} from "./Broker.js"

export interface NatsBrokerOptions {
  /** `nats://[user:password@]host:port`, or `tls://…` to require TLS; a lone user part is a token. */
  readonly url: Redacted.Redacted
  readonly stream: {
    readonly name: string
    /** Created with file storage, or its subjects and duplicate window updated, when `create`. */
    readonly create: boolean
    /** Default `tapline.>`. */
    readonly subjects?: ReadonlyArray<string>
    /**
     * How long the server remembers a `Nats-Msg-Id` to drop a re-publish: 2 minutes by default (NATS's own
     * default, said here so it is chosen, not inherited). The server keeps every id of the window in memory.
     */
    readonly duplicateWindow?: Duration.DurationInput
  }
  /** The durable pull consumer `consume` reads; required for `consume` only. */
  readonly consumer?: {
    readonly name: string
    /** e.g. `tapline.*.band.>`; the whole stream when absent. */
    readonly filterSubject?: string
    /** Messages delivered and not yet acknowledged (the server's max_ack_pending); default 64. */
    readonly maxInFlight?: number
    /** How long a handler may take before the server delivers its message again; default 30 s. */
    readonly ackWait?: Duration.DurationInput
  }
  /** JetStream publishes unacknowledged at once, a sliding window in the given order; default `IN_FLIGHT`. */
  readonly inFlight?: number
  /** A publish's JetStream acks, a connection, a stream or consumer request; default 10 s. */
  readonly deadline?: Duration.DurationInput
  /** Between reconnection attempts, forever; default 2 s. */
  readonly reconnectWait?: Duration.DurationInput
  /** The delay before a message whose handler failed comes again, doubling up to `max`; 1 s to 60 s. */
  readonly retryBackoff?: { readonly initial: Duration.DurationInput; readonly max: Duration.DurationInput }
  /** Extra trusted CA certificates (PEM) for `tls://`. */
  readonly ca?: string
  readonly dial?: Dial
}

const CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
/**
 * JetStream publishes in flight at once on the connection, a sliding window: the next starts as soon as one
 * is acknowledged, never after a whole window's acks (a barrier waits for the slowest ack of each window).
 */
export const IN_FLIGHT = 1024

/** `tapline.<slug>.tap.created` for type `tapline.tap.created`. */
export const subjectOf = (message: BrokerMessage) =>
  `tapline.${message.organizationSlug}.${message.type.replace(/^tapline\./, "")}`

/** JetStream's durations are nanoseconds. */
const nanos = (duration: Duration.DurationInput) => Duration.toMillis(duration) * 1_000_000

const fail = (failure: "transient" | "permanent", message: string, cause?: unknown) =>
  new BrokerError({ broker: "nats", failure, message, cause })

/** The errors in `error`'s cause chain, outermost first: nats.js wraps the server's answer in RequestError. */
const chain = (error: unknown) => {
  const errors: Array<Error & { code?: unknown; status?: unknown }> = []
  for (let current = error; current instanceof Error && errors.length < 5; current = current.cause) {
    errors.push(current)
  }
  return errors
}

/** A JetStream API error code (10059 stream not found…) that only a configuration change cures. */
const PERMANENT_API_CODES = new Set([10054, 10059, 10039, 10060])

/** Node's verdicts on a server certificate: wrong until someone changes the certificate or the trust. */
const CERTIFICATE_CODES = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID"
])

/**
 * Permanent: refused credentials or permissions, a certificate that does not verify, a server without TLS
 * for a `tls://` URL, a message over the server's max_payload or the stream's
 * max_msg_size, a stream that does not exist, a subject the server calls invalid, any JetStream 4xx answer.
 * Everything else (refused or lost connections, timeouts, JetStream's 503s while it recovers) is transient.
 */
export const toBrokerError = (what: string, error: unknown): BrokerError => {
  if (error instanceof BrokerError) return error
  for (const e of chain(error)) {
    const permanent =
      ["AuthorizationError", "UserAuthenticationExpiredError", "PermissionViolationError"].includes(e.name) ||
      e.name === "InvalidSubjectError" ||
      CERTIFICATE_CODES.has(e.code as string) ||
      /server does not support 'tls'/.test(e.message) ||
      (e.name === "InvalidArgumentError" && /max_payload/.test(e.message)) ||
      (e.name.endsWith("ApiError") || e.name.endsWith("NotFoundError")
        ? PERMANENT_API_CODES.has(e.code as number) || (typeof e.status === "number" && e.status < 500)
        : false)
    if (permanent) return fail("permanent", `NATS ${what} failed: ${e.message}`, error)
  }
  const message = error instanceof Error ? error.message : String(error)
  return fail("transient", `NATS ${what} failed: ${message}`, error)
}

const isNoResponders = (error: unknown) =>
  chain(error).some((e) => e.name === "NoResponders" || /no responders/i.test(e.message))

interface Link {
  readonly nc: NatsConnection
  /** Resolved while connected; while nats.js reconnects, once it is back. */
  readonly connected: () => Promise<void>
}

/**
 * nats.js discards what was written while it was reconnecting: a request sent then is lost and only times out.
 * So requests wait for the connection to be back (within their deadline) instead of being sent into the void.
 */
const linkOf = (nc: NatsConnection): Link => {
  let back = Promise.resolve()
  let release = () => {}
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") back = new Promise((resolve) => (release = resolve))
      else if (status.type === "reconnect") release()
    }
    release()
  })()
  return { nc, connected: () => back }
}

const receivedOf = (msg: JsMsg): ReceivedMessage => {
  const body = msg.string()
  let id = msg.headers?.get("Nats-Msg-Id") || undefined
  if (id === undefined) {
    try {
      const parsed = JSON.parse(body) as { id?: unknown }
      id = typeof parsed.id === "string" ? parsed.id : undefined
    } catch {}
  }
  return { id, body, redeliveries: Math.max(0, msg.info.deliveryCount - 1) }
}

/**
 * NATS JetStream: a publish is a JetStream publish with `Nats-Msg-Id` = the CloudEvent's id, so the server
 * drops a re-publish within the stream's duplicate window and says so (`duplicate: true`); consume reads a
 * durable pull consumer with explicit acks. The CloudEvent travels in structured mode as the binding says for
 * NATS 2.2+ (the body is the JSON event, `Content-Type: application/cloudevents+json`; no `ce-` headers,
 * which would mean binary mode).
 */
export const make = (options: NatsBrokerOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server with no NATS destination never loads the client.
    const [{ connect, headers: natsHeaders }, js] = yield* Effect.promise(() =>
      Promise.all([import("@nats-io/transport-node"), import("@nats-io/jetstream")])
    )
    const deadline = Duration.toMillis(options.deadline ?? "10 seconds")
    const inFlight = Math.max(1, options.inFlight ?? IN_FLIGHT)
    const url = new URL(Redacted.value(options.url))
    const secure = url.protocol === "tls:"
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
    const port = Number(url.port || 4222)
    const dial = options.dial ?? dialAsNamed
    const user = decodeURIComponent(url.username)
    const password = decodeURIComponent(url.password)
    const credentials = password !== "" ? { user, pass: password } : user !== "" ? { token: user } : {}
    const subjects = options.stream.subjects ?? ["tapline.>"]
    const duplicateWindow = nanos(options.stream.duplicateWindow ?? "2 minutes")

    // Resolved and vetted once: every reconnection goes to this address, never to a fresh resolution.
    let dialled: Dialled | undefined
    const open = async () => {
      dialled ??= await dial(host, port).catch((error) => {
        // The category only: what the name resolved to stays out of a message a tenant may read.
        const category = categoryOf(error)
        const failure = category === "refused by the outbound policy" ? "permanent" : "transient"
        throw fail(failure, `NATS ${host}:${port}: ${category}`, error)
      })
      const address = dialled.address.includes(":") ? `[${dialled.address}]` : dialled.address
      const connection: ConnectionOptions = {
        servers: [`${address}:${dialled.port}`],
        // The server's gossip of other cluster members would bypass the vetting: ignored.
        ignoreClusterUpdates: true,
        noRandomize: true,
        resolve: false,
        maxReconnectAttempts: -1,
        reconnectTimeWait: Duration.toMillis(options.reconnectWait ?? "2 seconds"),
        ignoreAuthErrorAbort: true,
        // Else every request captures two stack traces up front, for errors that almost never come: about a
        // third of a JetStream publish's CPU in this client (bench/streams-modules.mjs). Errors keep their names
        // and messages, which is all toBrokerError reads.
        noAsyncTraces: true,
        timeout: deadline,
        name: "tapline",
        ...credentials,
        // nats.js hands this object to tls.connect whole, so the host's name goes as SNI and is what the
        // certificate is checked against, though its type names only the certificate fields.
        tls: secure
          ? ({ servername: dialled.servername, ...(options.ca ? { ca: options.ca } : {}) } as TlsOptions)
          : null
      }
      return connect(connection)
    }

    // One connection, opened on first use: a broker down at start is a transient error of that call, and once
    // open nats.js reconnects by itself. A connection nats.js closed is replaced by the next call.
    let current: Promise<Link> | undefined
    let closed = false
    const connection = async () => {
      let link = await current
      if (link === undefined || link.nc.isClosed()) {
        if (closed) throw fail("transient", "NATS module closed")
        const attempt = open().then(linkOf)
        current = attempt
        attempt.catch(() => {
          if (current === attempt) current = undefined
        })
        link = await attempt
      }
      await link.connected()
      return link.nc
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closed = true
        const link = await current?.catch(() => undefined)
        await link?.nc.close().catch(() => {})
      }).pipe(Effect.timeout(deadline), Effect.ignore)
    )

    const request = <A>(what: string, run: (nc: NatsConnection) => Promise<A>) =>
      Effect.tryPromise({ try: connection, catch: (error) => toBrokerError("connection", error) }).pipe(
        Effect.flatMap((nc) =>
          Effect.tryPromise({ try: () => run(nc), catch: (error) => toBrokerError(what, error) })
        ),
        Effect.timeoutFail({
          duration: deadline,
          onTimeout: () => fail("transient", `NATS ${what} got no answer within ${deadline} ms`)
        })
      )
    const manager = (nc: NatsConnection) => js.jetstreamManager(nc, { checkAPI: false, timeout: deadline })

    const ensureStream = async (jsm: JetStreamManager) => {
      const { name } = options.stream
      const info = await jsm.streams.info(name).catch((error) => {
        if (error instanceof js.JetStreamApiError && error.code === js.JetStreamApiCodes.StreamNotFound) {
          return undefined
        }
        throw error
      })
      if (info === undefined) {
        await jsm.streams.add({
          name,
          subjects: [...subjects],
          storage: js.StorageType.File,
          duplicate_window: duplicateWindow
        })
      } else if (
        info.config.duplicate_window !== duplicateWindow ||
        info.config.subjects.join() !== subjects.join()
      ) {
        await jsm.streams.update(name, { subjects: [...subjects], duplicate_window: duplicateWindow })
      }
    }
    let streamReady = !options.stream.create
    const client = request("stream setup", async (nc) => {
      if (!streamReady) {
        await ensureStream(await manager(nc))
        streamReady = true
      }
      return js.jetstream(nc, { timeout: deadline })
    })

    /** A publish nobody answered: no stream stores the subject (permanent), or JetStream is not back yet. */
    const noResponders = (subject: string, error: unknown) =>
      request("stream lookup", async (nc) => (await manager(nc)).streams.find(subject)).pipe(
        Effect.matchEffect({
          onFailure: (lookup) =>
            Effect.fail(
              lookup.failure === "permanent"
                ? fail("permanent", `NATS publish: no stream stores ${subject}`, error)
                : toBrokerError("publish", error)
            ),
          onSuccess: () => Effect.fail(toBrokerError("publish", error))
        })
      )

    const publishOne = (jsc: JetStreamClient, message: BrokerMessage) => {
      const headers = natsHeaders()
      headers.set("Content-Type", CONTENT_TYPE)
      return jsc.publish(subjectOf(message), message.body, {
        msgID: message.id,
        headers,
        expect: { streamName: options.stream.name },
        timeout: deadline
      })
    }

    /**
     * Every message, started in the given order on one connection (so the stream stores them in that order),
     * at most `inFlight` unacknowledged. After a failure nothing more starts; what is in flight settles
     * (each within the deadline) before the first failure is reported, so no publish of this call goes on
     * behind the caller's retry.
     */
    const publishAll = (jsc: JetStreamClient, messages: ReadonlyArray<BrokerMessage>) =>
      new Promise<{ duplicates: number; failed?: { message: BrokerMessage; error: unknown } }>((resolve) => {
        let duplicates = 0
        let started = 0
        let settled = 0
        let failed: { message: BrokerMessage; error: unknown } | undefined
        const start = () => {
          const message = messages[started++]!
          let acked: Promise<{ duplicate: boolean }>
          try {
            acked = publishOne(jsc, message)
          } catch (error) {
            acked = Promise.reject(error)
          }
          acked.then(
            (ack) => {
              if (ack.duplicate) duplicates += 1
              next()
            },
            (error: unknown) => {
              failed ??= { message, error }
              next()
            }
          )
        }
        const next = () => {
          settled += 1
          if (failed === undefined && started < messages.length) start()
          else if (settled === started)
            resolve(failed === undefined ? { duplicates } : { duplicates, failed })
        }
        while (started < Math.min(inFlight, messages.length)) start()
      })

    const publish: BrokerShape["publish"] = (messages) =>
      Effect.gen(function* () {
        if (messages.length === 0) return { duplicates: 0 }
        const jsc = yield* client
        const { duplicates, failed } = yield* Effect.promise(() => publishAll(jsc, messages))
        if (failed === undefined) return { duplicates }
        return yield* isNoResponders(failed.error)
          ? noResponders(subjectOf(failed.message), failed.error)
          : Effect.fail(toBrokerError("publish", failed.error))
      }).pipe(Effect.withSpan("Broker.publish", { attributes: { "broker.kind": "nats" } }))

    const consume: BrokerShape["consume"] = (handle) =>
      Effect.gen(function* () {
        const consumer = options.consumer
        if (consumer === undefined) return yield* fail("permanent", "NATS consume: no consumer is configured")
        const maxInFlight = consumer.maxInFlight ?? 64
        const backoff = options.retryBackoff ?? { initial: "1 second", max: "60 seconds" }
        const delayOf = (deliveries: number) =>
          Math.min(
            Duration.toMillis(backoff.max),
            Duration.toMillis(backoff.initial) * 2 ** Math.min(20, Math.max(0, deliveries - 1))
          )
        // Also at every restart of the session below: a durable deleted by an operator comes back.
        const ensureConsumer = request("consumer setup", async (nc) => {
          const config = {
            ack_policy: js.AckPolicy.Explicit,
            max_ack_pending: maxInFlight,
            ack_wait: nanos(consumer.ackWait ?? "30 seconds"),
            ...(consumer.filterSubject === undefined ? {} : { filter_subject: consumer.filterSubject })
          }
          const jsm = await manager(nc)
          await jsm.consumers.info(options.stream.name, consumer.name).then(
            () => jsm.consumers.update(options.stream.name, consumer.name, config),
            (error) => {
              const missing =
                error instanceof js.JetStreamApiError && error.code === js.JetStreamApiCodes.ConsumerNotFound
              if (!missing) throw error
              return jsm.consumers.add(options.stream.name, {
                ...config,
                durable_name: consumer.name,
                deliver_policy: js.DeliverPolicy.All
              })
            }
          )
        })
        // A misconfiguration or a broker down at the start is the caller's to hear of.
        yield* client
        yield* ensureConsumer

        const one = (msg: JsMsg) =>
          Effect.gen(function* () {
            const exit = yield* Effect.exit(Effect.suspend(() => handle(receivedOf(msg))))
            if (Exit.isSuccess(exit)) {
              // Confirmed by the server: an ack lost on the way would deliver the message again.
              yield* Effect.tryPromise(() => msg.ackAck({ timeout: deadline })).pipe(
                Effect.catchAll((error) => Effect.logWarning("NATS ack not confirmed; it comes again", error))
              )
            } else {
              msg.nak(delayOf(msg.info.deliveryCount))
            }
          })

        // nats.js re-issues its pulls after a reconnection; a consume that ends or fails anyway starts over.
        const session = Effect.gen(function* () {
          yield* ensureConsumer
          const source = yield* request("consume", (nc) =>
            js.jetstream(nc).consumers.get(options.stream.name, consumer.name)
          )
          const { iterator } = yield* Effect.acquireRelease(
            request("consume", async () => {
              const messages = await source.consume({ max_messages: maxInFlight })
              return { messages, iterator: messages[Symbol.asyncIterator]() }
            }),
            // Stopped, then drained: what was pulled and not handled goes back at once, not after the ack wait.
            ({ messages, iterator }) =>
              Effect.promise(async () => {
                messages.stop()
                for (let next = await iterator.next(); !next.done; next = await iterator.next())
                  next.value.nak()
              }).pipe(Effect.timeout(deadline), Effect.ignore)
          )
          for (;;) {
            const next = yield* Effect.tryPromise({
              try: () => iterator.next(),
              catch: (error) => toBrokerError("consume", error)
            })
            if (next.done) return yield* fail("transient", "NATS consume ended")
            yield* one(next.value)
          }
        }).pipe(Effect.scoped)
        yield* session.pipe(
          Effect.tapError((error) => Effect.logWarning("NATS consume restarts", error.message)),
          Effect.retry(Schedule.spaced(options.reconnectWait ?? "2 seconds")),
          Effect.forkScoped
        )
      })

    return { kind: "nats", publish, consume } satisfies BrokerShape
  })
