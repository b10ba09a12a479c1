import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import { advanceLifecycle } from "../Jobs/Lifecycle.js"
import * as Workers from "../Jobs/Workers.js"
import { Projector } from "../ReadModel/Projector.js"

export const lifecycleQueue = recurringQueue("events.lifecycle")

/**
 * Every minute: events that opted in go ACTIVE at their start and COMPLETED at their end, and the read model
 * follows. (Only the registration lives here for now: the lifecycle itself is being moved beside the events.)
 */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const projector = yield* Projector
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    yield* workQueue(jobs, lifecycleQueue, Workers.maintenance, () =>
      advanceLifecycle.pipe(
        Effect.flatMap((organizations) =>
          Effect.forEach(organizations, projector.organization, { discard: true })
        ),
        Effect.provideService(Audit, audit),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    yield* jobs.schedule(lifecycleQueue.name, "* * * * *")
  })
)
