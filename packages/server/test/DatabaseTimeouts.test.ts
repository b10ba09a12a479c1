import * as SqlClient from "@effect/sql/SqlClient"
import { adminUrl } from "@tapline/testing/env"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import Pg from "pg"
import { describe, expect, it } from "vitest"
import { AppConfig } from "../src/Config/AppConfig.js"
import * as Database from "../src/Database/Database.js"

/*
 * DATABASE_STATEMENT_TIMEOUT and DATABASE_IDLE_IN_TRANSACTION_TIMEOUT are set on each pooled session; the
 * real server enforces them. Short values, so the proof takes a second, through the same layer the server
 * builds from its configuration.
 */

const applicationName = `tapline-timeouts-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

const databaseLayer = Database.layer.pipe(
  Layer.provide(AppConfig.layer),
  Layer.provide(
    Layer.setConfigProvider(
      ConfigProvider.fromMap(
        new Map([
          ["DATABASE_URL", adminUrl],
          ["DATABASE_POOL_MAX", "2"],
          ["DATABASE_APPLICATION_NAME", applicationName],
          ["DATABASE_STATEMENT_TIMEOUT", "300 millis"],
          ["DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", "400 millis"]
        ])
      )
    )
  )
)

const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, databaseLayer))

/** SQLSTATE of a failed query (the pg error under the SqlError). */
const sqlState = (error: unknown): string | undefined => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined
  return typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
}

const causeMessage = (error: unknown): string | undefined => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined
  return cause instanceof Error ? cause.message : undefined
}

/** Polls the server (from a connection of its own) until `check` holds; fails at the deadline. */
const awaitServer = async (
  what: string,
  query: string,
  params: Array<unknown>,
  check: (rows: number) => boolean
) => {
  const client = new Pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      const { rowCount } = await client.query(query, params)
      if (check(rowCount ?? 0)) return
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await client.end()
  }
}

describe("PostgreSQL session timeouts, enforced by the server", () => {
  it("each session carries both settings", async () => {
    const settings = await run(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ statement: string; idle: string }>`
          select current_setting('statement_timeout') as statement,
                 current_setting('idle_in_transaction_session_timeout') as idle`
      )
    )
    expect(settings).toEqual([{ statement: "300ms", idle: "400ms" }])
  }, 60_000)

  it("a statement running past DATABASE_STATEMENT_TIMEOUT is cancelled with a clear error", async () => {
    const error = await run(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        // Far longer than the test's own limit: only the server's timeout ends it in time.
        Effect.flip(
          sql`select pg_sleep(600)`.pipe(
            Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("no statement timeout") })
          )
        )
      )
    )
    expect(sqlState(error)).toBe("57014")
    expect(causeMessage(error)).toBe("canceling statement due to statement timeout")
  }, 60_000)

  it("a session idle in a transaction past the timeout is ended by the server; the pool recovers", async () => {
    const outcome = await run(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        let next: unknown
        const transaction = yield* Effect.exit(
          sql.withTransaction(
            Effect.gen(function* () {
              const [row] = yield* sql<{ pid: number }>`select pg_backend_pid() as pid`
              // The transaction holds its session and does nothing: wait until the server has ended it.
              yield* Effect.promise(() =>
                awaitServer(
                  "the idle session to be terminated",
                  "select 1 from pg_stat_activity where pid = $1",
                  [row!.pid],
                  (rows) => rows === 0
                )
              )
              next = yield* Effect.flip(sql`select 1`)
            })
          )
        )
        const afterwards = yield* sql<{ ok: number }>`select 1 as ok`
        return { transaction, next, afterwards }
      })
    )
    expect(causeMessage(outcome.next)).toBe("Client has encountered a connection error and is not queryable")
    // The rollback cannot reach the ended session either; @effect/sql makes that a defect.
    expect(Exit.isFailure(outcome.transaction)).toBe(true)
    expect(outcome.afterwards).toEqual([{ ok: 1 }])
  }, 60_000)
})
