import { Cause, Effect, ParseResult, Schema } from "effect"

/**
 * A whole row as PostgreSQL returns it (camelCase), its id typed and every other column as the driver gives
 * it (`Date` for timestamptz, strings for bigint and numeric). Services decode it into their Model, but the
 * audit entry and the change hooks keep the row itself: decoding it here would change what they record.
 */
export const WholeRow = <Id extends string>(id: Schema.Schema<Id, string>) =>
  Schema.Struct({ id }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

type Defect = ParseResult.ParseError | Cause.NoSuchElementException

const isDefect = (error: unknown): error is Defect =>
  ParseResult.isParseError(error) || Cause.isNoSuchElementException(error)

/**
 * A row that does not match its schema (the migrations and the schema disagree), or a statement that must
 * return a row and returned none, is a defect, not an error a caller could handle: callers keep seeing only
 * the database's `SqlError`, as with the untyped rows before.
 */
export const rowsOrDie = <A, E, R>(query: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Defect>, R> =>
  Effect.catchIf(query, isDefect, Effect.die) as Effect.Effect<A, Exclude<E, Defect>, R>
