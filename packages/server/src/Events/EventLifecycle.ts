import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { Changes } from "../Admin/Changes.js"

/**
 * Auto-lifecycle: events that opted in go ACTIVE at their start and COMPLETED at their end, audited as the
 * system. Each move is a change through the unit of work (its audit entry and the `event.status_changed` it
 * announces, in the job's one transaction); the organisations moved are projected after the commit.
 */
/**
 * The moves a jump from `from` to `to` stands for. A DRAFT event whose end had already passed when the job
 * saw it (created late, or the job was down for the whole show) goes straight to COMPLETED in one update,
 * but DRAFT may only move to ACTIVE (domain EventLifecycle): it is recorded and announced as the two moves
 * it made, so receivers and the audit never see a transition the API itself refuses.
 */
const steps = (from: string, to: string): ReadonlyArray<readonly [string, string]> =>
  from === "DRAFT" && to === "COMPLETED"
    ? [
        ["DRAFT", "ACTIVE"],
        ["ACTIVE", "COMPLETED"]
      ]
    : [[from, to]]

export class EventLifecycle extends Effect.Service<EventLifecycle>()("@tapline/server/EventLifecycle", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes

    const moveDue = sql<{
      id: string
      organizationId: OrganizationId
      name: string
      previous: string
      status: string
    }>`
      with due as (
        select id, status as previous,
          case when status = 'DRAFT' and (ends_at is null or ends_at > now()) then 'ACTIVE' else 'COMPLETED' end as next
        from events
        where auto_lifecycle and deleted_at is null
          and ((status = 'DRAFT' and starts_at <= now()) or (status = 'ACTIVE' and ends_at <= now()))
        for update
      )
      update events e set status = due.next, updated_at = now() from due where e.id = due.id
      returning e.id, e.organization_id, e.name, due.previous, e.status`

    /** Moves what is due; the job calls it every minute. */
    const advance = Effect.gen(function* () {
      const moved = yield* changes.transact(
        Effect.gen(function* () {
          const changed = yield* moveDue
          for (const event of changed) {
            for (const [from, to] of steps(event.previous, event.status)) {
              const change = {
                organizationId: event.organizationId,
                action: "event.auto_lifecycle",
                resourceType: "event",
                resourceId: event.id,
                oldValues: { status: from },
                newValues: { status: to }
              }
              // The audit keeps the status; the event announced names the event as well.
              yield* changes.record(change, {
                announced: { ...change, newValues: { ...change.newValues, name: event.name } }
              })
            }
          }
          return [...new Set(changed.map((event) => event.organizationId))]
        })
      )
      yield* Effect.forEach(moved, changes.project, { discard: true })
    }).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.withSpan("EventLifecycle.advance"))

    return { advance } as const
  }),
  dependencies: [Changes.Default]
}) {}
