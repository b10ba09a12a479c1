import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { Audit } from "../Audit/Audit.js"
import * as Outbox from "../Database/Outbox.js"
import { eventsOfChange } from "../Webhooks/Events.js"

/**
 * Auto-lifecycle: events that opted in go ACTIVE at their start and COMPLETED at their end, audited as the
 * system. Returns the organisations whose read model must follow.
 */
export const advanceLifecycle = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* Audit
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      const changed = yield* sql<{
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
      for (const event of changed) {
        const change = {
          organizationId: event.organizationId,
          action: "event.auto_lifecycle",
          resourceType: "event",
          resourceId: event.id,
          oldValues: { status: event.previous },
          newValues: { status: event.status }
        }
        yield* audit.record(change)
        // Not an admin change (no Changes, no hooks): the outbox is written here, in the same transaction.
        for (const announced of eventsOfChange({
          ...change,
          newValues: { ...change.newValues, name: event.name }
        })) {
          yield* Outbox.publish(event.organizationId, announced.type, announced.data)
        }
      }
      return [...new Set(changed.map((event) => event.organizationId))]
    })
  )
})
