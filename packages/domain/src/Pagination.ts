import { Schema } from "effect"

/**
 * Cursor pagination: `limit` items after `cursor`, the opaque `nextCursor` of the previous page. Lists are
 * ordered by their id (UUIDv7, so by creation), which keeps a page stable while rows are added.
 */
export const PageParams = Schema.Struct({
  limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)), {
    default: () => 50
  }),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})
export type PageParams = typeof PageParams.Type

export const Page = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.Struct({
    items: Schema.Array(item),
    /** Absent on the last page. */
    nextCursor: Schema.NullOr(Schema.String)
  })

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | null
}
