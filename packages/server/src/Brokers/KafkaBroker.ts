import * as Net from "node:net"
import * as Tls from "node:tls"
import type { Consumer, Message, Producer } from "@platformatic/kafka"
import { Cause, Duration, Effect, Redacted, Schedule, Stream } from "effect"
import { OutboundRefused, OutboundTimeout, OutboundUnreachable } from "../Outbound/OutboundErrors.js"
import { BrokerError, type BrokerShape, type HostVetting, type ReceivedMessage } from "./Broker.js"

export interface KafkaOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: ReadonlyArray<string>
  /** Where publish writes and consume reads. */
  readonly topic: string
  /** The consumer group consume joins. */
  readonly groupId: string
  readonly clientId?: string
  /** Creates the topic (with `partitions`) when it is missing; without it a missing topic is permanent. */
  readonly createTopic?: boolean
  readonly partitions?: number
  /** How long a publish may wait for the acknowledgement, connecting included. Default 10 s. */
  readonly deadline?: Duration.DurationInput
  readonly tls?: boolean
  /** Extra trusted CA certificates (PEM) for TLS: an operator's private CA (BROKER_CA_FILE). */
  readonly ca?: string | undefined
  /**
   * A tenant's cluster: every host the client connects to, bootstrap or advertised, is vetted first and the
   * socket goes to the vetted address. TLS only (the library's plaintext sockets take no resolver).
   */
  readonly vetting?: HostVetting | undefined
  readonly sasl?: {
    readonly mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"
    readonly username: string
    readonly password: Redacted.Redacted
  }
}

/**
 * The `tls` options that vet. @platformatic/kafka 1.35 opens every socket itself, to the host and port it was
 * given or the metadata advertised (network/connection.js spreads `tls` into `tls.connect` for each), so a
 * `lookup` reaches every connection to a name: it answers the vetted address, the name stays the server
 * name and the certificate's subject. Node skips `lookup` for an address host, so an address (bootstrap or
 * advertised) is judged in `checkServerIdentity`, before any Kafka byte (SASL included) is sent.
 */
export const vettingTls = (vetting: HostVetting) => ({
  lookup: ((
    hostname: string,
    options: { readonly all?: boolean },
    callback: (error: Error | null, address: unknown, family?: number) => void
  ) => {
    vetting.resolve(hostname).then(
      (address) => {
        const family = Net.isIP(address) === 6 ? 6 : 4
        if (options.all) callback(null, [{ address, family }])
        else callback(null, address, family)
      },
      (error: Error) => callback(error, undefined)
    )
  }) as Net.LookupFunction,
  checkServerIdentity: (host: string, certificate: Tls.PeerCertificate) => {
    const refused = Net.isIP(host) === 0 ? undefined : vetting.refuses(host)
    return refused === undefined ? Tls.checkServerIdentity(host, certificate) : new OutboundRefused(refused)
  }
})

/**
 * The most a produce request carries, keys, bodies and headers counted. A partition's record batch may not
 * exceed the broker's `message.max.bytes` (1 MiB by default): a tap sink's full batch (TAP_WRITER_BATCH, 5 000
 * CloudEvents of about 600 bytes) in one request is refused as MESSAGE_TOO_LARGE, for good, so it is split.
 */
const CHUNK_BYTES = 512 * 1024
const HEADER_BYTES = 96

/** `messages` in order, cut into runs of at most CHUNK_BYTES (a larger message alone: the broker judges it). */
export const chunksOf = <M extends { readonly key: string; readonly body: string }>(
  messages: ReadonlyArray<M>
): ReadonlyArray<ReadonlyArray<M>> => {
  const chunks: Array<Array<M>> = []
  let current: Array<M> = []
  let bytes = 0
  for (const message of messages) {
    const size = Buffer.byteLength(message.body) + Buffer.byteLength(message.key) + HEADER_BYTES
    if (current.length > 0 && bytes + size > CHUNK_BYTES) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(message)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

/** Errors no retry mends: the configuration (credentials, rights, topic, size limit) has to change first. */
const permanentCodes = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "SASL_AUTHENTICATION_FAILED",
  "UNSUPPORTED_SASL_MECHANISM",
  "ILLEGAL_SASL_STATE",
  "POLICY_VIOLATION",
  "INVALID_PARTITIONS",
  "INVALID_REPLICATION_FACTOR",
  "INVALID_CONFIG",
  "UNSUPPORTED_VERSION"
])

interface KafkaLibraryError {
  readonly message?: string
  readonly code?: string
  readonly apiId?: string
  readonly cause?: unknown
  readonly errors?: ReadonlyArray<unknown>
}

/** Every error in the library's tree: MultipleErrors nest in `errors`, wrapped ones in `cause`. */
const flatten = (error: unknown, depth = 0): ReadonlyArray<KafkaLibraryError> => {
  if (typeof error !== "object" || error === null || depth > 8) return []
  const e = error as KafkaLibraryError
  return [
    e,
    ...(e.errors ?? []).flatMap((inner) => flatten(inner, depth + 1)),
    ...flatten(e.cause, depth + 1)
  ]
}

/** The Kafka error codes (e.g. `MESSAGE_TOO_LARGE`) in an error of the library. */
export const errorCodes = (error: unknown): ReadonlyArray<string> =>
  flatten(error).flatMap((e) => (e.apiId === undefined ? [] : [e.apiId]))

/** A vetting refusal in the tree: its words are what a tenant reads (they never say what a name resolved to). */
const vettingFailure = (error: unknown) =>
  flatten(error).find(
    (e): e is Error =>
      e instanceof OutboundRefused || e instanceof OutboundUnreachable || e instanceof OutboundTimeout
  )

const classify = (error: unknown, topicIsCreated: boolean): "transient" | "permanent" => {
  const all = flatten(error)
  // Like RabbitBroker's: a host the policy refuses stays refused until the URL or OUTBOUND_ALLOW changes.
  if (all.some((e) => e instanceof OutboundRefused)) return "permanent"
  const codes = all.flatMap((e) => (e.apiId === undefined ? [] : [e.apiId]))
  if (codes.some((code) => permanentCodes.has(code))) return "permanent"
  // Right after we created it the topic may be unknown for a moment; otherwise nobody will create it.
  if (!topicIsCreated && codes.includes("UNKNOWN_TOPIC_OR_PARTITION")) return "permanent"
  if (all.some((e) => e.code === "PLT_KFK_AUTHENTICATION" || e.code === "PLT_KFK_USER")) return "permanent"
  return "transient"
}

const describe = (error: unknown) => {
  const vetting = vettingFailure(error)
  if (vetting !== undefined) return vetting.message
  const codes = errorCodes(error)
  const message = error instanceof Error ? error.message : String(error)
  return codes.length === 0 ? message : `${message} (${[...new Set(codes)].join(", ")})`
}

const kafkaError = (what: string, topicIsCreated: boolean) => (cause: unknown) =>
  new BrokerError({
    broker: "kafka",
    failure: classify(cause, topicIsCreated),
    message: `Kafka ${what} failed: ${describe(cause)}`,
    cause
  })

/** Closes a client of the library, ignoring its errors, and waits no longer than a broker that is away allows. */
const closeQuietly = (close: (done: () => void) => void) =>
  // Interruptible, or the timeout could not end it inside a release (which runs uninterruptibly).
  Effect.async<void>((resume) => close(() => resume(Effect.void))).pipe(
    Effect.interruptible,
    Effect.timeout("5 seconds"),
    Effect.ignore
  )

/** The CloudEvents id of a message: its `ce_id` header (binary or ours), else the structured body's `id`. */
const cloudEventId = (message: Message<string, string, string, string>): string | undefined => {
  const header = message.headers.get("ce_id")
  if (header !== undefined) return header
  try {
    const id = (JSON.parse(message.value) as { id?: unknown }).id
    return typeof id === "string" ? id : undefined
  } catch {
    return undefined
  }
}

/** Kafka through @platformatic/kafka: an idempotent producer (acks=all) and a consumer group. */
export const make = (options: KafkaOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that publishes to no Kafka never loads the client.
    const kafka = yield* Effect.promise(() => import("@platformatic/kafka"))
    const deadline = Duration.decode(options.deadline ?? "10 seconds")
    const millis = Duration.toMillis(deadline)
    const createTopic = options.createTopic ?? false
    if (options.vetting !== undefined && !options.tls)
      return yield* Effect.dieMessage(
        "a vetted Kafka connection needs TLS: plaintext sockets take no resolver"
      )
    const tls = {
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.vetting === undefined ? {} : vettingTls(options.vetting))
    }
    const connection = {
      clientId: options.clientId ?? "tapline",
      bootstrapBrokers: [...options.brokers],
      connectTimeout: Math.min(5_000, millis),
      requestTimeout: millis,
      // The server name is the host, bootstrap or advertised, as the certificate names it.
      ...(options.tls ? { tls, tlsServerName: true } : {}),
      ...(options.sasl === undefined
        ? {}
        : {
            sasl: {
              mechanism: options.sasl.mechanism,
              username: options.sasl.username,
              password: Redacted.value(options.sasl.password)
            }
          })
    }

    // Created once it exists; a failed create is tried again by the next publish or consume.
    let topicReady = !createTopic
    const ensureTopic = Effect.suspend(() => {
      if (topicReady) return Effect.void
      return Effect.acquireUseRelease(
        Effect.sync(() => new kafka.Admin({ ...connection, retries: 1, retryDelay: 250 })),
        (admin) =>
          Effect.tryPromise({
            try: () =>
              admin.createTopics({
                topics: [options.topic],
                partitions: options.partitions ?? 3,
                replicas: -1
              }),
            catch: (cause) => cause
          }).pipe(
            Effect.catchIf(
              (cause) => errorCodes(cause).includes("TOPIC_ALREADY_EXISTS"),
              () => Effect.void
            ),
            Effect.mapError(kafkaError("creating the topic", true)),
            Effect.tap(() =>
              Effect.sync(() => {
                topicReady = true
              })
            )
          ),
        (admin) => closeQuietly((done) => admin.close(done))
      )
    })

    // One producer at a time: a publish that failed may have left a batch in flight whose sequence number
    // the next batch would reuse (and the broker then drop as a duplicate), so a failure retires it.
    let producer: Producer<string, string, string, string> | undefined
    const retire = (old: Producer<string, string, string, string>) =>
      Effect.sync(() => {
        if (producer === old) producer = undefined
        old.close(true, () => {})
      })
    yield* Effect.addFinalizer(() =>
      producer === undefined ? Effect.void : closeQuietly((done) => producer?.close(true, done))
    )
    const lock = yield* Effect.makeSemaphore(1)

    const send = (messages: Parameters<BrokerShape["publish"]>[0]) =>
      Effect.gen(function* () {
        yield* ensureTopic
        producer ??= new kafka.Producer({
          ...connection,
          idempotent: true,
          acks: kafka.ProduceAcks.ALL,
          // The library's own retries stay inside the deadline; ours are the caller's.
          retries: 2,
          retryDelay: 250,
          timeout: millis,
          autocreateTopics: false,
          serializers: kafka.stringSerializers
        })
        const current = producer
        yield* Effect.tryPromise({
          try: () =>
            current.send({
              messages: messages.map((message) => ({
                topic: options.topic,
                key: message.key,
                value: message.body,
                // The CloudEvents Kafka binding, structured mode: the event in the value, its id and type
                // as headers so consumers can route without parsing.
                headers: {
                  ce_id: message.id,
                  ce_type: message.type,
                  "content-type": "application/cloudevents+json"
                }
              }))
            }),
          catch: kafkaError("publishing", createTopic)
        }).pipe(
          Effect.tapError(() => retire(current)),
          Effect.onInterrupt(() => retire(current))
        )
        return { duplicates: 0 }
      })

    const publish: BrokerShape["publish"] = (messages) =>
      messages.length === 0
        ? Effect.succeed({ duplicates: 0 })
        : lock.withPermits(1)(
            // One request per chunk, in order (a key's messages keep theirs), each with its own deadline.
            Effect.forEach(
              chunksOf(messages),
              (chunk) =>
                send(chunk).pipe(
                  Effect.timeoutFail({
                    duration: deadline,
                    onTimeout: () =>
                      new BrokerError({
                        broker: "kafka",
                        failure: "transient",
                        message: `Kafka publishing failed: no acknowledgement within ${Duration.format(deadline)}`
                      })
                  })
                ),
              { discard: true }
            ).pipe(
              Effect.as({ duplicates: 0 }),
              Effect.withSpan("Broker.publish", {
                attributes: { "messaging.system": "kafka", "messaging.batch.message_count": messages.length }
              })
            )
          )

    const handleOne = (
      handle: (message: ReceivedMessage) => Effect.Effect<void, unknown>,
      message: Message<string, string, string, string>
    ) =>
      Effect.gen(function* () {
        const id = cloudEventId(message)
        let attempts = 0
        // In place, never skipped: Kafka's offset is a position, so committing past a failed message would
        // lose it. Later messages of the partition wait; its order is kept.
        yield* Effect.suspend(() => handle({ id, body: message.value, redeliveries: attempts++ })).pipe(
          Effect.sandbox,
          Effect.tapError((cause) =>
            Effect.logWarning("a Kafka message's handler failed; it is tried again").pipe(
              Effect.annotateLogs({
                topic: message.topic,
                partition: message.partition,
                cause: Cause.pretty(cause)
              })
            )
          ),
          Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
          // The schedule never ends: only the scope's close stops the retries.
          Effect.orDie
        )
        // A commit lost to a broker restart means the message may come again (at least once), never that a
        // later one is skipped.
        yield* Effect.tryPromise(() => Promise.resolve(message.commit())).pipe(
          Effect.catchAll((cause) =>
            Effect.logWarning("a Kafka offset commit failed").pipe(
              Effect.annotateLogs({ cause: describe(cause) })
            )
          )
        )
      })

    // One consumer and its stream, read to the end; an error ends it and the loop below starts another
    // (from the committed offsets), which is how a broker restart is survived whatever the library does.
    const session = (handle: (message: ReceivedMessage) => Effect.Effect<void, unknown>) =>
      Effect.scoped(
        Effect.gen(function* () {
          yield* ensureTopic
          const consumer = yield* Effect.acquireRelease(
            Effect.sync(
              (): Consumer<string, string, string, string> =>
                new kafka.Consumer({
                  ...connection,
                  groupId: options.groupId,
                  deserializers: kafka.stringDeserializers,
                  autocommit: false,
                  sessionTimeout: 10_000,
                  heartbeatInterval: 1_000,
                  maxWaitTime: 500,
                  retries: 3,
                  retryDelay: 500
                })
            ),
            (consumer) => closeQuietly((done) => consumer.close(true, done))
          )
          const stream = yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: () =>
                consumer.consume({
                  topics: [options.topic],
                  mode: kafka.MessagesStreamModes.COMMITTED,
                  fallbackMode: kafka.MessagesStreamFallbackModes.EARLIEST,
                  autocommit: false
                }),
              catch: kafkaError("subscribing", createTopic)
            }).pipe(
              // An acquisition runs uninterruptibly: without this the timeout below would wait for a join
              // that never settles (seen when the broker came back in the middle of one).
              Effect.interruptible,
              // Joining may wait out a rebalance (a member gone with the broker times out after the session
              // timeout), never longer: a join that never answers is tried again from the start.
              Effect.timeoutFail({
                duration: "30 seconds",
                onTimeout: () =>
                  new BrokerError({
                    broker: "kafka",
                    failure: "transient",
                    message: "Kafka subscribing timed out"
                  })
              })
            ),
            (stream) => closeQuietly((done) => stream.close(done))
          )
          const progress = { at: Date.now(), busy: false }
          const reading = Stream.fromAsyncIterable(stream, kafkaError("consuming", createTopic)).pipe(
            Stream.runForEach((message) =>
              Effect.acquireUseRelease(
                Effect.sync(() => {
                  progress.busy = true
                }),
                () => handleOne(handle, message),
                () =>
                  Effect.sync(() => {
                    progress.at = Date.now()
                    progress.busy = false
                  })
              )
            )
          )
          yield* Effect.raceFirst(reading, watchdog(consumer, progress))
        })
      )

    // The library's stream has been seen to go quiet after a broker restart, joined but fetching nothing:
    // when nothing came for a while though the group has messages waiting, the session starts again.
    const watchdog = (
      consumer: Consumer<string, string, string, string>,
      progress: { readonly at: number; readonly busy: boolean }
    ) =>
      Effect.gen(function* () {
        for (;;) {
          yield* Effect.sleep("5 seconds")
          if (progress.busy || Date.now() - progress.at < 20_000) continue
          const waiting = yield* Effect.tryPromise(async () => {
            const ends = (await consumer.listOffsets({ topics: [options.topic] })).get(options.topic) ?? []
            const partitions = ends.map((_, partition) => partition)
            const committed =
              (await consumer.listCommittedOffsets({ topics: [{ topic: options.topic, partitions }] })).get(
                options.topic
              ) ?? []
            return ends.some((end, partition) => end > (committed[partition] ?? -1n) && end > 0n)
          }).pipe(Effect.orElseSucceed(() => false))
          if (waiting)
            return yield* new BrokerError({
              broker: "kafka",
              failure: "transient",
              message: "Kafka consuming stalled: no message for 20 s though the group has messages waiting"
            })
        }
      })

    const consume: BrokerShape["consume"] = (handle) =>
      session(handle).pipe(
        Effect.tapError((error) =>
          Effect.logWarning("the Kafka consumer stopped; it starts again").pipe(
            Effect.annotateLogs({ failure: error.failure, error: error.message })
          )
        ),
        // Short: each attempt is itself a few connection attempts, and a restarted broker should be read soon.
        Effect.retry(Schedule.exponential("250 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))),
        // A stream that ended by itself (closed under us) is opened again.
        Effect.repeat(Schedule.spaced("500 millis")),
        Effect.forkScoped,
        Effect.asVoid
      )

    return { kind: "kafka", publish, consume } satisfies BrokerShape
  })
