import type { WebhookEventType } from "@tapline/domain"
import type { RecordedChange } from "./RecordedChange.js"

/** A domain event to publish: what happened in an organisation, as the receivers get it in `data`. */
export interface OutboxEvent {
  readonly type: WebhookEventType | "webhook.test"
  readonly data: Record<string, unknown>
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {}

/**
 * The events a recorded change announces (the unit of work publishes them for every change it records, the
 * lifecycle job's included). The writer's own events (taps, bands assigned or flagged by a tap) and
 * export.ready are published where they happen, in their own transactions, through the same outbox.
 */
export const eventsOfChange = (change: RecordedChange): ReadonlyArray<OutboxEvent> => {
  const before = record(change.oldValues)
  const after = record(change.newValues)
  switch (change.action) {
    case "event.status":
    case "event.auto_lifecycle":
      if (before.status === after.status) return []
      return [
        {
          type: "event.status_changed",
          data: {
            eventId: change.resourceId,
            name: after.name ?? before.name ?? null,
            from: before.status ?? null,
            to: after.status ?? null,
            automatic: change.action === "event.auto_lifecycle"
          }
        }
      ]
    case "band.reassign":
      return [
        {
          type: "band.assigned",
          data: {
            eventId: after.eventId ?? null,
            previousEventId: before.eventId ?? null,
            bands: [{ id: change.resourceId, uid: after.bandUid ?? null }],
            automatic: false
          }
        }
      ]
    case "band.bulk_reassign": {
      const moved = Array.isArray(after.moved) ? (after.moved as ReadonlyArray<string>) : []
      if (moved.length === 0) return []
      return [
        {
          type: "band.assigned",
          data: {
            eventId: change.resourceId,
            bands: moved.map((id) => ({ id, uid: null })),
            automatic: false
          }
        }
      ]
    }
    case "band.import":
      return [{ type: "import.completed", data: { eventId: change.resourceId, ...after } }]
    default:
      return []
  }
}
