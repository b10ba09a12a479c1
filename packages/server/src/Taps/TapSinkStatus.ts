import { Effect } from "effect"
import { gauge, Metrics } from "../Telemetry/Metrics.js"
import { type ConsumerStatus, makeStatus } from "./TapWriterStatus.js"

export interface SinkState {
  readonly name: string
  readonly state: "ok" | "failing" | "not_running"
  readonly failingSinceMs: number | null
  readonly lastError: string | null
}

/**
 * The tap sinks running in this process and how each consume loop is doing. A failing sink (its broker down,
 * say) is listed by readiness without making the process unready: the redirect and the PostgreSQL writer do
 * not depend on it, and a restart would not bring the broker back. `tapline_tap_sinks_failing` (always
 * exposed) counts them for Prometheus, and the in-process alert `sink_failing` names them.
 */
export class TapSinkStatuses extends Effect.Service<TapSinkStatuses>()("@tapline/server/TapSinkStatuses", {
  scoped: Effect.gen(function* () {
    const sinks = new Map<string, ConsumerStatus>()
    const all = (): ReadonlyArray<SinkState> =>
      [...sinks].map(([name, status]) => ({ name, ...status.snapshot() }))
    const failing = () => all().filter((sink) => sink.state === "failing")
    yield* gauge(yield* Metrics, {
      name: "tapline_tap_sinks_failing",
      help: "Tap sinks (brokers and other consumers of the tap stream besides the writer) whose consume loop is failing",
      read: () => Promise.resolve(failing().length)
    })
    return {
      /** The status of the sink `name` for as long as the scope lasts. */
      register: (name: string) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const status = makeStatus()
            status.started()
            sinks.set(name, status)
            return status
          }),
          () => Effect.sync(() => sinks.delete(name))
        ),
      all,
      failing
    }
  })
}) {}
