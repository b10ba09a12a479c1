import type * as SqlClient from "@effect/sql/SqlClient"
import { Config, Effect, Layer } from "effect"
import { Changes } from "../Admin/Changes.js"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { RegistrantRepository } from "./RegistrantRepository.js"
import { Registrants } from "./Registrants.js"

/**
 * How long a registrant is kept after their band's event ended: REGISTRANT_KEEP_DAYS, 365 by default (a year
 * covers next year's edition and its re-registration mail); 0 keeps registrants until erased by hand. An
 * event with no end date is never due.
 */
export const keepDays = Config.integer("REGISTRANT_KEEP_DAYS").pipe(
  Config.validate({
    message: "expected a number of days from 0 (keep) to 3650",
    validation: (n) => n >= 0 && n <= 3650
  }),
  Config.withDefault(365)
)

export const retentionQueue = recurringQueue("registrants.retention")

/** Erased per run at most; the next day's run takes the rest (each erasure is its own audited change). */
const BATCH = 1_000

/** Erases the registrants that are past their keeping, each as an audited erasure (reason `retention`). */
export const eraseExpired = (days: number) =>
  Effect.gen(function* () {
    if (days === 0) return 0
    const repository = yield* RegistrantRepository
    const registrants = yield* Registrants
    const due = yield* Effect.orDie(repository.expired(days, BATCH))
    yield* Effect.forEach(due, (registrant) =>
      // Erased meanwhile by hand: nothing left to do.
      Effect.catchTag(
        registrants.erase(registrant.organizationId, registrant.id, "retention"),
        "NotFound",
        () => Effect.void
      )
    )
    return due.length
  })

/** Daily: registrants of events ended more than REGISTRANT_KEEP_DAYS ago are erased. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const days = yield* keepDays
    const jobs = yield* Jobs
    const context = yield* Effect.context<RegistrantRepository | Registrants | SqlClient.SqlClient>()
    yield* workQueue(jobs, retentionQueue, Workers.maintenance, () =>
      eraseExpired(days).pipe(
        Effect.tap((erased) =>
          Effect.logInfo("registrants past their keeping erased").pipe(Effect.annotateLogs({ erased }))
        ),
        Effect.asVoid,
        Effect.provide(context)
      )
    )
    yield* jobs.schedule(retentionQueue.name, "47 4 * * *")
  })
).pipe(
  Layer.provide(Layer.merge(Registrants.Default, RegistrantRepository.Default)),
  Layer.provide(Changes.Default)
)
