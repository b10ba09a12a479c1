import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Conflict, NotFound, type OrganizationId } from "@tapline/domain"
import { Context, Effect } from "effect"
import { Audit, type AuditChange } from "../Audit/Audit.js"
import { Jobs } from "../Jobs/Jobs.js"
import * as Outbox from "../Outbox/Outbox.js"
import { Projector } from "../ReadModel/Projector.js"
import { mapConstraintErrors } from "./Constraints.js"

/**
 * Subscribers to every recorded change beside the outbox, called inside its transaction: what they write
 * commits or rolls back with the change. None by default; Changes takes the ones its layer is given.
 */
export class ChangeHooks extends Context.Reference<ChangeHooks>()("@tapline/server/ChangeHooks", {
  defaultValue: (): ReadonlyArray<
    (change: AuditChange) => Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient>
  > => []
}) {}

/**
 * How every change runs (an admin's, a job's): the change, its audit entries and the events it announces
 * (the outbox) in one transaction (constraint violations answered as 409/400), then, after the commit, the
 * organisation projected into the hot path's read model within the same request. A projection that fails (Redis down) does not undo the committed change: the
 * read model's version check reports the organisation stale and the watcher rebuilds it.
 */
export class Changes extends Effect.Service<Changes>()("@tapline/server/Changes", {
  effect: Effect.gen(function* () {
    const projector = yield* Projector
    const jobs = yield* Jobs
    const audit = yield* Audit
    const hooks = yield* ChangeHooks

    /** The transaction of a change: jobs it enqueues exist only if it commits. */
    const transact = <A, E, R>(body: Effect.Effect<A, E, R>) => mapConstraintErrors(jobs.transactional(body))

    const notFound = (resource: string, id: string) => Effect.fail(new NotFound({ resource, id }))

    /** The row a lookup found, else NotFound; a database error on the way stays an outage, not "not found". */
    const found = <Row, R>(
      resource: string,
      id: string,
      lookup: Effect.Effect<Row | undefined, SqlError.SqlError, R>
    ) =>
      Effect.flatMap(Effect.orDie(lookup), (row) =>
        row === undefined ? notFound(resource, id) : Effect.succeed(row)
      )

    /**
     * The audit entry of a change, the events it announces into the outbox and its hooks; call it inside
     * `transact`. `announced` is the change as its events tell it, when they name more than the audit keeps
     * (the lifecycle job audits a status; its event names the event too).
     */
    const record = (
      change: AuditChange & { readonly organizationId: OrganizationId | null },
      options: { readonly announced?: AuditChange } = {}
    ) =>
      Effect.gen(function* () {
        yield* audit.record(change)
        yield* Outbox.publishChange(options.announced ?? change)
        for (const hook of hooks) yield* hook(change)
      })

    /** A new row, in one transaction with its audit entry (and the change hooks). */
    const createRow = <Row extends { readonly id: string }, R>(options: {
      readonly organizationId: OrganizationId
      readonly resourceType: string
      readonly action: string
      readonly insert: Effect.Effect<Row, SqlError.SqlError, R>
    }) =>
      transact(
        Effect.gen(function* () {
          const row = yield* options.insert
          yield* record({
            organizationId: options.organizationId,
            action: options.action,
            resourceType: options.resourceType,
            resourceId: row.id,
            newValues: row
          })
          return row
        })
      )

    /**
     * A change to one existing row, in one transaction: the row is locked (NotFound when it is not there),
     * `apply` changes it, and the audit entry holds the row before and after. An `apply` that changes
     * nothing (an empty PATCH) records nothing and answers the row as it was. A row holding credentials
     * gives `audited`: what the entry keeps of the row before and after (never a secret or its ciphertext).
     */
    const changeRow = <Row, E, R>(options: {
      readonly organizationId: OrganizationId
      readonly resourceType: string
      readonly resourceId: string
      readonly action: string
      readonly lock: Effect.Effect<Row | undefined, SqlError.SqlError, R>
      readonly apply: (before: Row) => Effect.Effect<ReadonlyArray<Row>, E | SqlError.SqlError, R>
      readonly audited?: (
        before: Row,
        after: Row
      ) => { readonly oldValues: unknown; readonly newValues: unknown }
    }) =>
      transact(
        Effect.gen(function* () {
          const before = yield* options.lock
          if (before === undefined) {
            return yield* notFound(options.resourceType, options.resourceId)
          }
          const [after] = yield* options.apply(before)
          if (after === undefined) return before
          yield* record({
            organizationId: options.organizationId,
            action: options.action,
            resourceType: options.resourceType,
            resourceId: options.resourceId,
            ...(options.audited?.(before, after) ?? { oldValues: before, newValues: after })
          })
          return after
        })
      )

    /**
     * Deletes a row of the trash for good, in one transaction with its audit entry (the row before; `purge`
     * answers the entry's new values). A live row is a conflict: purging takes two deliberate steps, so one
     * mistaken call never loses data the trash would have kept. No row at all (or one already purged) is
     * NotFound.
     */
    const purgeRow = <Row, R>(options: {
      readonly organizationId: OrganizationId
      readonly resourceType: string
      readonly resourceId: string
      readonly action: string
      /** The row in the trash, locked; undefined when it is not in the trash. */
      readonly lock: Effect.Effect<Row | undefined, SqlError.SqlError, R>
      /** Whether the row is there and live (not in the trash). */
      readonly live: Effect.Effect<boolean, SqlError.SqlError, R>
      readonly purge: (before: Row) => Effect.Effect<unknown, SqlError.SqlError, R>
      /** What the audit keeps of the row (personal data left out); the row itself by default. */
      readonly audited?: (before: Row) => unknown
    }) =>
      transact(
        Effect.gen(function* () {
          const before = yield* options.lock
          if (before === undefined) {
            if (yield* options.live) {
              return yield* Effect.fail(
                new Conflict({
                  message: `the ${options.resourceType} is not in the trash: delete it first, then purge it`
                })
              )
            }
            return yield* notFound(options.resourceType, options.resourceId)
          }
          const after = yield* options.purge(before)
          yield* record({
            organizationId: options.organizationId,
            action: options.action,
            resourceType: options.resourceType,
            resourceId: options.resourceId,
            oldValues: options.audited === undefined ? before : options.audited(before),
            newValues: after
          })
        })
      )

    const logged = (what: string, effect: Effect.Effect<void, unknown>) =>
      effect.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`read model projection failed: ${what}`, cause))
      )

    const project = (organizationId: OrganizationId) =>
      logged("organization", projector.organization(organizationId))

    const projectBands = (organizationId: OrganizationId, bandUids: ReadonlyArray<string>) =>
      bandUids.length === 0 ? Effect.void : logged("bands", projector.bands(organizationId, bandUids))

    const projectNewBands = (
      organizationId: OrganizationId,
      eventId: string,
      created: ReadonlyArray<{ bandId: string; bandUid: string }>
    ) =>
      created.length === 0
        ? Effect.void
        : logged("new bands", projector.newBands(organizationId, eventId, created))

    const projectPurgedEvent = (
      organizationId: OrganizationId,
      eventId: string,
      bandUids: ReadonlyArray<string>
    ) => logged("purged event", projector.purgedEvent(organizationId, eventId, bandUids))

    return {
      transact,
      record,
      createRow,
      changeRow,
      purgeRow,
      notFound,
      found,
      project,
      projectBands,
      projectNewBands,
      projectPurgedEvent
    } as const
  }),
  dependencies: [Audit.Default]
}) {}
