import { Effect, Option, Schema } from "effect"
import { ObjectKey, Storage } from "./Storage.js"

const BATCH = 100

/**
 * Removes the objects of expired rows, a batch at a time until none is left, and lets `done` settle each row.
 * The object goes first: a crash between the two leaves a row that the next run removes again (removing a
 * missing object succeeds), never an object nobody knows about. Returns how many rows it settled.
 */
export const removeExpired = <Row extends { readonly objectKey: string | null }, E, R>(what: {
  readonly name: string
  readonly due: (limit: number) => Effect.Effect<ReadonlyArray<Row>, E, R>
  readonly done: (row: Row) => Effect.Effect<unknown, E, R>
}) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    let total = 0
    for (;;) {
      const due = yield* what.due(BATCH)
      for (const row of due) {
        const key = Schema.decodeUnknownOption(ObjectKey)(row.objectKey)
        if (Option.isSome(key)) yield* storage.remove(key.value)
        else if (row.objectKey !== null) {
          yield* Effect.logWarning(
            `an expired row of ${what.name} names no valid object; settled without removing it`
          ).pipe(Effect.annotateLogs({ objectKey: row.objectKey.slice(0, 300) }))
        }
        yield* what.done(row)
      }
      total += due.length
      if (due.length < BATCH) break
    }
    if (total > 0)
      yield* Effect.logInfo(`expired ${what.name} removed`).pipe(Effect.annotateLogs({ count: total }))
    return total
  }).pipe(Effect.withSpan("Storage.removeExpired", { attributes: { "tapline.expired": what.name } }))
