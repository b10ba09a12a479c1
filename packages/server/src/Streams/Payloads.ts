import { EventStatus, RedirectKind, WindowType } from "@tapline/domain"
import { Schema } from "effect"
import type { OutboxEvent } from "../Outbox/Events.js"

/*
 * The `data` of every CloudEvent Tapline publishes, one Effect Schema per type: the JSON Schemas served at
 * /api/v1/schemas/{type}.json are generated from these (Schemas.ts), and the tests validate what
 * CloudEvents.ts renders against them. The fields are those of the webhook payloads (Outbox/Events.ts and
 * each `Outbox.publish` call), so a receiver reads the same data from a webhook or a broker. Objects refuse
 * unknown properties in the schema: a field added to a payload is added here in the same change, and a field
 * that must never leave (a tap's address or user agent) cannot slip out unnoticed.
 */

/** RFC 3339 with a `T`, seconds and an offset, as `Date.prototype.toISOString` and PostgreSQL's JSON write it. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/

export const Instant = Schema.String.pipe(Schema.pattern(RFC3339)).annotations({
  identifier: "Instant",
  description: "an RFC 3339 instant, e.g. 2026-07-01T19:00:00.000Z",
  jsonSchema: { format: "date-time", pattern: RFC3339.source }
})

const Id = Schema.UUID
// One plain `{ type: integer, minimum: 0 }`: Schema.Int's own `$ref` beside `minimum` is refused by strict
// validators (Ajv's strictTypes), and receivers' validators are what the document is for.
const Count = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, {
    description: "a count, a non-negative integer",
    jsonSchema: { type: "integer", minimum: 0 }
  })
)

/** One tap, as the webhook `tap.created` payload lists it: never its address or user agent. */
export const TapCreated = Schema.Struct({
  id: Id,
  eventId: Schema.NullOr(Id),
  bandId: Schema.NullOr(Id),
  bandUid: Schema.String.annotations({ description: "the string written on the band's chip" }),
  windowId: Schema.NullOr(Id),
  mode: Schema.NullOr(WindowType),
  redirectKind: RedirectKind,
  tappedAt: Instant,
  isBot: Schema.Boolean,
  isDuplicate: Schema.Boolean
}).annotations({ identifier: "TapCreated", title: "tap.created", description: "A band was tapped." })

export const BandFlagged = Schema.Struct({
  eventId: Id,
  bandId: Id,
  bandUid: Schema.String,
  reason: Schema.NullOr(Schema.String)
}).annotations({
  identifier: "BandFlagged",
  title: "band.flagged",
  description: "A tap auto-assigned a band from too far away."
})

export const BandAssigned = Schema.Struct({
  eventId: Schema.NullOr(Id),
  previousEventId: Schema.optional(Schema.NullOr(Id)),
  bands: Schema.Array(Schema.Struct({ id: Id, uid: Schema.NullOr(Schema.String) })),
  automatic: Schema.Boolean
}).annotations({
  identifier: "BandAssigned",
  title: "band.assigned",
  description: "A tap auto-assigned bands, or an organiser reassigned them."
})

export const EventStatusChanged = Schema.Struct({
  eventId: Id,
  name: Schema.NullOr(Schema.String),
  from: Schema.NullOr(EventStatus),
  to: Schema.NullOr(EventStatus),
  automatic: Schema.Boolean
}).annotations({
  identifier: "EventStatusChanged",
  title: "event.status_changed",
  description: "An organiser or the lifecycle job changed an event's status."
})

export const ExportReady = Schema.Struct({
  exportId: Id,
  kind: Schema.Literal("taps", "audit"),
  rows: Count,
  bytes: Count,
  expiresAt: Schema.NullOr(Instant)
}).annotations({ identifier: "ExportReady", title: "export.ready", description: "An export finished." })

export const ImportCompleted = Schema.Struct({
  eventId: Id,
  received: Count,
  created: Count,
  updated: Count,
  invalid: Count
}).annotations({
  identifier: "ImportCompleted",
  title: "import.completed",
  description: "A band import was stored."
})

export const WebhookDisabled = Schema.Struct({
  endpointId: Id,
  url: Schema.String.annotations({ description: "the endpoint as shown (a chat webhook: its origin only)" }),
  reason: Schema.String
}).annotations({
  identifier: "WebhookDisabled",
  title: "webhook.disabled",
  description: "An endpoint of the organisation was disabled."
})

export const WebhookTest = Schema.Struct({ endpointId: Id }).annotations({
  identifier: "WebhookTest",
  title: "webhook.test",
  description: "An OWNER pressed test."
})

/** Every type published, by its name without the `tapline.` prefix. */
export const outgoing = {
  "tap.created": TapCreated,
  "band.flagged": BandFlagged,
  "band.assigned": BandAssigned,
  "event.status_changed": EventStatusChanged,
  "export.ready": ExportReady,
  "import.completed": ImportCompleted,
  "webhook.disabled": WebhookDisabled,
  "webhook.test": WebhookTest
} as const satisfies Record<OutboxEvent["type"], Schema.Schema.AnyNoContext>

export type OutgoingType = keyof typeof outgoing
