import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * Spent credentials are kept only as long as they explain something. A sign-in link or code, a setup token:
 * a day past its expiry or its use (long enough to answer "this link was already used" to someone who clicks
 * it twice). A session: 30 days past its expiry or revocation, so a member can still see a recent sign-out in
 * their session list. Who signed in when is the audit log's to keep, not these tables'.
 */

export const KEEP_SPENT_TOKENS = "1 day"
export const KEEP_ENDED_SESSIONS = "30 days"

export interface Pruned {
  readonly emailSignIns: number
  readonly setupTokens: number
  readonly sessions: number
}

export const prune = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const count = (rows: ReadonlyArray<unknown>) => rows.length
  const emailSignIns = yield* sql`
    delete from email_sign_ins
    where greatest(link_expires_at, code_expires_at) < now() - ${KEEP_SPENT_TOKENS}::interval
       or used_at < now() - ${KEEP_SPENT_TOKENS}::interval
    returning 1`
  const setupTokens = yield* sql`
    delete from setup_tokens
    where expires_at < now() - ${KEEP_SPENT_TOKENS}::interval or used_at < now() - ${KEEP_SPENT_TOKENS}::interval
    returning 1`
  const sessions = yield* sql`
    delete from sessions
    where expires_at < now() - ${KEEP_ENDED_SESSIONS}::interval
       or revoked_at < now() - ${KEEP_ENDED_SESSIONS}::interval
    returning 1`
  return {
    emailSignIns: count(emailSignIns),
    setupTokens: count(setupTokens),
    sessions: count(sessions)
  } satisfies Pruned
}).pipe(
  // One transaction: a reader never sees the links pruned and the sessions not yet.
  (prune) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(prune)),
  Effect.withSpan("CredentialPrune.prune")
)
