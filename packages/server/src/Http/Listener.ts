import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { AppConfig, servesTaps } from "../Config/AppConfig.js"
import { Draining } from "../Health/Draining.js"

export interface ListenerShape {
  /**
   * Stops accepting connections and ends the idle keep-alive ones; requests in flight are answered with
   * `Connection: close` and awaited up to `within`, after which whatever is still open is closed.
   */
  readonly close: (within: Duration.Duration) => Effect.Effect<void>
  /** Milliseconds since the last request other than a health probe arrived. */
  readonly quietMs: () => number
}

/** The node server's listening socket and connections, as a stop sees them. */
export class Listener extends Context.Tag("@tapline/server/Listener")<Listener, ListenerShape>() {}

/**
 * Node's `server.close()` ends only the connections idle at that instant: a keep-alive connection busy then
 * stays open (and keeps `close` waiting) until its keep-alive timeout after the answer, and a balancer may
 * send it one more request meanwhile. Every response is tracked, so a close can mark the unanswered ones
 * `Connection: close` and end each connection as soon as its last answer is written.
 */
export const track = (server: Server) => {
  const inFlight = new Set<ServerResponse>()
  let closing = false
  let lastRequestAt = Date.now()
  const closeIdle = () => server.closeIdleConnections()
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    if (!request.url?.startsWith("/health/")) lastRequestAt = Date.now()
    if (closing) {
      // A request that was already on its way on a kept-alive connection: answered, then the connection ends.
      response.shouldKeepAlive = false
      response.once("finish", () => setImmediate(closeIdle))
      return
    }
    inFlight.add(response)
    response.once("close", () => inFlight.delete(response))
  }
  const close = (within: Duration.Duration) =>
    Effect.async<void>((resume) => {
      closing = true
      for (const response of inFlight) {
        if (!response.headersSent) response.shouldKeepAlive = false
        // Headers already sent with keep-alive (a stream): its connection is ended once it finishes.
        response.once("finish", () => setImmediate(closeIdle))
      }
      server.close(() => resume(Effect.void))
      closeIdle()
    }).pipe(
      Effect.timeoutOption(within),
      Effect.flatMap((closed) =>
        Option.isSome(closed)
          ? Effect.void
          : Effect.sync(() => server.closeAllConnections()).pipe(
              Effect.zipRight(
                Effect.logWarning("requests still open at shutdown were cut off").pipe(
                  Effect.annotateLogs({ waitedMs: Duration.toMillis(within), open: inFlight.size })
                )
              )
            )
      )
    )
  const quietMs = () => Date.now() - lastRequestAt
  return { onRequest, listener: { close, quietMs } satisfies ListenerShape }
}

/** Traffic has stopped when no request but a probe arrived for this long: the balancer has let go. */
const QUIET_MS = 500

/**
 * The stop of a serving process, run before any other part stops: readiness turns 503 (Draining), requests
 * are served for SHUTDOWN_DRAIN_DELAY while the balancer's checks notice, and past it for as long as they
 * still arrive (a balancer slow to notice, on a busy machine), within a bound; then the listener closes and
 * the requests in flight finish. Only then do the hot path, the recorder and the connections behind them
 * stop. A worker serves no traffic (its probes only): it closes at once.
 */
export const drainOnStop = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { server, taps } = yield* AppConfig
    const draining = yield* Draining
    const listener = yield* Listener
    const delay = servesTaps(taps.role) ? server.drainDelay : Duration.zero
    // What is left of SHUTDOWN_TIMEOUT after the drain delay is shared: traffic that still arrives, the
    // requests in flight, and the stops behind this one (the writer's last batch, the recorder's flush).
    const share = Duration.max(
      Duration.seconds(1),
      Duration.unsafeDivide(Duration.subtract(server.shutdownTimeout, delay), 3)
    )
    const stillServing = Effect.gen(function* () {
      const until = Date.now() + Duration.toMillis(share)
      while (listener.quietMs() < QUIET_MS && Date.now() < until) yield* Effect.sleep("100 millis")
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        draining.begin()
        if (Duration.greaterThan(delay, Duration.zero)) {
          yield* Effect.logInfo(
            "stopping: readiness answers 503, still serving until the drain delay ends"
          ).pipe(Effect.annotateLogs({ drainDelayMs: Duration.toMillis(delay) }))
          yield* Effect.sleep(delay)
          yield* stillServing
        }
        yield* listener.close(share)
        yield* Effect.logInfo("listener closed; requests in flight answered")
      })
    )
  })
)
