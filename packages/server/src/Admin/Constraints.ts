import type * as SqlError from "@effect/sql/SqlError"
import { Conflict, InvalidRequest } from "@tapline/domain"
import { Effect } from "effect"

interface PgError {
  readonly code?: string
  readonly constraint?: string
}

const messages: Record<string, string> = {
  organizations_slug_key: "this slug is taken",
  windows_no_overlap: "the window overlaps another window of the event",
  windows_starts_before_ends: "a window must start before it ends",
  bands_event_uid_key: "the event already has a band with this id",
  tags_name_key: "a tag with this name exists",
  events_manual_window_fkey: "the manual window must be one of the event's own windows"
}

/** SQLSTATE class 22: a value PostgreSQL cannot take (a NUL character, a number or date out of its range). */
export const isDataException = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null || (error as { _tag?: string })._tag !== "SqlError")
    return false
  const code = (error as { cause?: PgError }).cause?.code
  return typeof code === "string" && code.startsWith("22")
}

export const dataExceptionError = new InvalidRequest({
  message: "a value cannot be stored (for example a NUL character or a number out of range)"
})

/**
 * A request that breaks a database constraint is the caller's mistake, answered 409 or 400 with the
 * constraint's meaning. Any other database error is an outage and stays a failure of the server.
 */
export const mapConstraintErrors = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | Conflict | InvalidRequest, R> =>
  Effect.catchIf(
    effect as Effect.Effect<A, E | SqlError.SqlError, R>,
    (error): error is SqlError.SqlError =>
      typeof error === "object" && error !== null && (error as { _tag?: string })._tag === "SqlError",
    (error): Effect.Effect<never, Conflict | InvalidRequest> => {
      const cause = (error.cause ?? {}) as PgError
      const message = (cause.constraint && messages[cause.constraint]) || undefined
      switch (cause.code) {
        case "23505": // unique_violation
        case "23P01": // exclusion_violation
          return Effect.fail(new Conflict({ message: message ?? "this conflicts with an existing record" }))
        case "23503": // foreign_key_violation
          return Effect.fail(new InvalidRequest({ message: message ?? "a referenced record does not exist" }))
        case "23514": // check_violation
          return Effect.fail(new InvalidRequest({ message: message ?? "a value is out of range" }))
        default:
          // Class-22 data exceptions are answered 400 by the HTTP app's middleware, for reads and writes alike.
          return Effect.die(error)
      }
    }
  ) as never
