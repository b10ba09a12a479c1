import * as SqlClient from "@effect/sql/SqlClient"
import { SetupClosed } from "@tapline/domain"
import { Duration, Effect, Option } from "effect"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"

/*
 * The one-time setup links of first run (DESIGN.md §6), on the database alone so that the server at start
 * and the CLI (`tapline setup:link`) make them the same way. Only the token's SHA-256 is stored. The table
 * lock serialises issuing and redeeming, so a link cannot be made after, or redeemed beside, the first user.
 */

export const TOKEN_PREFIX = "tsu_"

export interface IssuedLink {
  readonly token: string
  readonly expiresAt: Date
}

/** The page a setup link opens; the token rides in the fragment, which browsers never send nor log. */
export const setupUrl = (origin: URL | string, token: string) =>
  `${new URL("/setup", origin).toString()}#token=${token}`

const usersExist = (sql: SqlClient.SqlClient) =>
  Effect.map(sql<{ found: boolean }>`select exists (select 1 from users) as found`, (rows) => rows[0]!.found)

/** True while no user exists. */
export const isOpen = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(usersExist(sql), (found) => !found)
)

/**
 * A fresh link valid for `lifetime`, or none once any user exists. Links already used or expired are swept
 * at the same time; other unused ones stay valid (each server instance and each CLI call makes its own).
 */
export const issue = (lifetime: Duration.Duration, issuedBy: "server" | "cli") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`lock table setup_tokens in share row exclusive mode`
        if (yield* usersExist(sql)) return Option.none<IssuedLink>()
        yield* sql`delete from setup_tokens where used_at is not null or expires_at <= now()`
        const token = randomToken(TOKEN_PREFIX)
        const [row] = yield* sql<{ expiresAt: Date }>`
          insert into setup_tokens (token_hash, expires_at, issued_by)
          values (${hashSecret(token)}, now() + ${Duration.toMillis(lifetime)} * interval '1 millisecond',
            ${issuedBy})
          returning expires_at`
        return Option.some<IssuedLink>({ token, expiresAt: row!.expiresAt })
      })
    )
  )

const closed = (message: string) => Effect.fail(new SetupClosed({ message }))

const ALREADY_SET_UP = "Tapline is already set up: sign in at /sign-in"
const NOT_VALID = "this setup link expired or was already used; run `tapline setup:link` for a new one"

/** Fails with SetupClosed unless the token is unused and unexpired and no user exists; changes nothing. */
export const check = (token: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      if (yield* usersExist(sql)) return yield* closed(ALREADY_SET_UP)
      const rows = yield* sql`
        select 1 from setup_tokens
        where token_hash = ${hashSecret(token)} and used_at is null and expires_at > now()`
      if (rows.length === 0) return yield* closed(NOT_VALID)
    })
  )

/**
 * Uses the token, in the caller's transaction: locks the table (the caller then creates the first user
 * before anyone else can redeem or issue), and fails with SetupClosed as `check` does.
 */
export const redeem = (token: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      yield* sql`lock table setup_tokens in share row exclusive mode`
      if (yield* usersExist(sql)) return yield* closed(ALREADY_SET_UP)
      const used = yield* sql`
        update setup_tokens set used_at = now()
        where token_hash = ${hashSecret(token)} and used_at is null and expires_at > now()
        returning token_hash`
      if (used.length === 0) return yield* closed(NOT_VALID)
    })
  )
