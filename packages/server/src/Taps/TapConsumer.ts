import { Data, Duration, Effect, Either, Fiber, Option, Schedule } from "effect"
import { AppConfig, servesTaps } from "../Config/AppConfig.js"
import type { Delivery, TapQueueShape } from "./TapQueue.js"
import type { ConsumerStatus } from "./TapWriterStatus.js"

/** A defect of a batch (a connection dropped mid-transaction surfaces as one), made retryable. */
class ConsumerDefect extends Data.TaggedError("WriterDefect")<{ readonly message: string }> {}

export interface ConsumerOptions {
  /** How its logs name it: "tap writer", "tap sink <name>". */
  readonly label: string
  readonly queue: TapQueueShape
  /** One delivery, not empty; it is acknowledged once this succeeds, and retried whole if it fails. */
  readonly handle: (delivery: Delivery) => Effect.Effect<void, unknown>
  readonly status: ConsumerStatus
  /** Whether this consumer trims the stream: the writer does, for every group; one trimmer is enough. */
  readonly trims: boolean
}

/**
 * The consume loop of one consumer group, the writer's and every sink's: take a batch, handle it,
 * acknowledge it; claim what a dead consumer of the group left; at a stop, finish the batches in hand and
 * hand back what is left. A batch is acknowledged only after its handler succeeded, so a crash in between
 * redelivers it: handlers are idempotent.
 */
export const run = (options: ConsumerOptions) =>
  Effect.gen(function* () {
    const { label, queue, status } = options
    const { taps, server } = yield* AppConfig
    const backoff = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

    /*
     * Supervised: any failure of a step, error or defect, marks the loop failing (readiness says so) and the
     * step is retried with backoff for as long as it takes. A delivery that failed is retried itself, not
     * replaced by a new read: its entries stay pending on this consumer and would otherwise wait for the
     * claimer. The first failure of a streak is an ERROR, then one every 30 s while it lasts, and the
     * recovery is said too. Interruption is not a failure and is not retried; loops end only with the scope.
     */
    const supervised = (name: string) => {
      let lastLogged = 0
      const failed = (error: unknown) =>
        Effect.suspend(() => {
          const message = errorText(error)
          const first = status.failed(name, message)
          if (!first && Date.now() - lastLogged < 30_000) return Effect.void
          lastLogged = Date.now()
          return Effect.logError(
            first
              ? `${label} ${name} failed; taps wait in the stream, retrying with backoff`
              : `${label} ${name} still failing; taps wait in the stream, retrying with backoff`
          ).pipe(Effect.annotateLogs({ error: message, failingForMs: status.snapshot().failingSinceMs }))
        })
      const succeeded = Effect.suspend(() =>
        status.succeeded(name) ? Effect.logInfo(`${label} ${name} recovered`) : Effect.void
      )
      return <A>(step: Effect.Effect<A, unknown>): Effect.Effect<A> =>
        step.pipe(
          Effect.catchAllDefect((defect) =>
            Effect.fail(new ConsumerDefect({ message: `defect: ${errorText(defect)}` }))
          ),
          Effect.tapError(failed),
          Effect.retry(backoff),
          Effect.tap(() => succeeded),
          Effect.orDie
        )
    }

    const handle = (delivery: Delivery) =>
      delivery.ids.length === 0
        ? Effect.void
        : Effect.zipRight(options.handle(delivery), queue.ack(delivery.ids))

    /** Read with `read`, then handle and acknowledge what was read, each retried on its own. */
    const consume = (name: string, read: Effect.Effect<Delivery, unknown>) => {
      const attempt = supervised(name)
      return Effect.flatMap(attempt(read), (delivery) => Effect.as(attempt(handle(delivery)), delivery))
    }

    /*
     * `TAP_WRITER_CONCURRENCY` batches in flight, each read on its own connection and handled on its own, so
     * PostgreSQL (or a broker) works on one while the next is read and decoded. A read is never cut short
     * (what XREADGROUP delivers is this consumer's even if nobody waits for it); a stop lets each loop finish
     * the batch it holds and read no more.
     */
    let stopping = false
    const take = Effect.uninterruptible(queue.take(taps.writerBatch))
    const batches = yield* Effect.forEach(Array.from({ length: taps.writerConcurrency }), (_, i) =>
      Effect.forkScoped(
        Effect.whileLoop({
          while: () => !stopping,
          body: () => consume(`batch ${i + 1}`, take),
          step: () => {}
        })
      )
    )
    // Entries a dead consumer left: claimed back to back while there are full batches of them, else every
    // 5 s.
    // Consumers gone for good are forgotten once their entries are claimed and they have been idle a while.
    const claimIdleMs = Duration.toMillis(taps.claimIdle)
    const claimed = consume("claim", queue.claim(claimIdleMs, taps.writerBatch))
    const forget = supervised("forget")(queue.forgetIdle(forgetAfterMs(claimIdleMs)))
    const claimer = yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(claimed, (delivery) =>
          delivery.ids.length >= taps.writerBatch
            ? Effect.void
            : Effect.zipRight(forget, Effect.sleep("5 seconds"))
        )
      )
    )
    const trim = supervised("trim")(queue.trim)
    const trimmer = options.trims
      ? [yield* Effect.forkScoped(Effect.forever(Effect.zipRight(trim, Effect.sleep("5 seconds"))))]
      : []

    /*
     * A graceful stop (added after the loops, so it runs before they are interrupted): the batches in hand
     * are handled within a share of SHUTDOWN_TIMEOUT; whatever this consumer still holds then (PostgreSQL
     * down, a batch too slow) is handed back for another consumer of the group to claim at once, and a
     * consumer holding nothing leaves the group. Before, the entries waited TAP_CLAIM_IDLE for a claimer and
     * the group kept every consumer that ever was.
     */
    const finishWithin = Duration.unsafeDivide(
      Duration.subtract(server.shutdownTimeout, servesTaps(taps.role) ? server.drainDelay : Duration.zero),
      3
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        stopping = true
        const finished = yield* Fiber.awaitAll(batches).pipe(Effect.timeoutOption(finishWithin))
        yield* Fiber.interruptAll([...batches, claimer, ...trimmer])
        const released = yield* Effect.either(queue.release)
        yield* Either.match(released, {
          onLeft: (error) =>
            Effect.logWarning(`${label} stopped; its entries wait for another writer's claimer`).pipe(
              Effect.annotateLogs({ error: error.message })
            ),
          onRight: ({ handedBack }) =>
            handedBack === 0
              ? Effect.logInfo(`${label} stopped; every batch it read is stored`)
              : Effect.logWarning(
                  `${label} stopped with batches unstored; handed back to the other writers`
                ).pipe(Effect.annotateLogs({ taps: handedBack, finished: Option.isSome(finished) }))
        })
      })
    )
    status.started()
    yield* Effect.logInfo(`${label} started`)
  })

/** A consumer idle this long and holding nothing is one gone for good (a live one reads every second). */
const forgetAfterMs = (claimIdleMs: number) => Math.max(10 * claimIdleMs, 60_000)

const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error) {
    const message = String((error as { message: unknown }).message)
    const cause = (error as { cause?: { message?: unknown } }).cause?.message
    return typeof cause === "string" && cause !== message ? `${message}: ${cause}` : message
  }
  return String(error)
}
