import * as RateLimiter from "@effect/experimental/RateLimiter"
import { TooManyRequests } from "@tapline/domain"
import { Duration, Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"

/*
 * Work one organisation can ask of resources every organisation shares (the delivery dispatcher, the job
 * queue, Storage, the live-stream fan-out) is limited per organisation and minute, so a flood from one
 * stays that organisation's problem. Counted by the same RateLimiter and store as the sign-in limits (Redis
 * when configured, so every instance counts together). A store outage is an outage, not a free pass.
 */

export type QuotaKind = "testPings" | "exports" | "uploadTickets" | "liveStreams"

const WHAT: Record<QuotaKind, string> = {
  testPings: "test deliveries",
  exports: "exports",
  uploadTickets: "upload tickets",
  liveStreams: "live streams opened"
}

/** A RateLimiter refusal as the API's 429 (with `Retry-After`); a store failure is a defect. */
export const exceededAsTooManyRequests =
  (message: string) =>
  <A, R>(self: Effect.Effect<A, RateLimiter.RateLimiterError, R>): Effect.Effect<A, TooManyRequests, R> =>
    Effect.catchTag(self, "RateLimiterError", (error) =>
      error.reason === "Exceeded"
        ? Effect.fail(
            new TooManyRequests({
              message,
              retryAfterSeconds: Math.max(1, Math.ceil(Duration.toSeconds(error.retryAfter)))
            })
          )
        : Effect.die(error)
    )

export class Quotas extends Effect.Service<Quotas>()("@tapline/server/Quotas", {
  effect: Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const { quotas } = yield* AppConfig

    /** Counts one unit of `kind` for the organisation; 429 past its per-minute quota. */
    const take = (kind: QuotaKind, organizationId: string) =>
      limiter
        .consume({
          key: `quota:${kind}:${organizationId}`,
          limit: quotas[kind],
          window: "1 minute",
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
        .pipe(
          Effect.asVoid,
          exceededAsTooManyRequests(
            `this organisation's quota of ${quotas[kind]} ${WHAT[kind]} a minute is used up; retry later`
          )
        )

    return { take } as const
  }),
  dependencies: [RateLimiter.layer]
}) {}
