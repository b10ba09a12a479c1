import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Jobs, recurringQueue, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import * as CredentialPrune from "./CredentialPrune.js"

export const credentialPruneQueue = recurringQueue("auth.prune")

/** Daily: removes spent sign-in links and codes, setup tokens and long-ended sessions (CredentialPrune.ts). */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const sql = yield* SqlClient.SqlClient
    yield* workQueue(jobs, credentialPruneQueue, Workers.maintenance, () =>
      CredentialPrune.prune.pipe(
        Effect.tap((pruned) =>
          pruned.emailSignIns + pruned.setupTokens + pruned.sessions > 0
            ? Effect.logInfo("spent credentials removed").pipe(Effect.annotateLogs({ ...pruned }))
            : Effect.void
        ),
        Effect.asVoid,
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    )
    yield* jobs.schedule(credentialPruneQueue.name, "17 4 * * *")
  })
)
