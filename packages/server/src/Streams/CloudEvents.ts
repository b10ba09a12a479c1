import type { BrokerMessage } from "../Brokers/Broker.js"
import type { OutboxMessage } from "../Outbox/Destination.js"
import type { TapRecord } from "../Taps/TapRecord.js"

/*
 * What Tapline publishes to a broker: CloudEvents 1.0 in the structured JSON format (the whole event, its
 * attributes and its `data`, in the body; content type `application/cloudevents+json`), written by hand
 * because it is one small object and the hot loop of a sink should not build a class per message. The tests
 * check every rendering against the reference `cloudevents` package and each type's JSON Schema.
 *
 * - `source` is `/organizations/<organization id>`, a URI-reference: which tenant the event belongs to,
 *   stable across renames (the slug, which an owner may change, only routes: BrokerMessage.organizationSlug).
 * - `type` is `tapline.<event type>`, e.g. `tapline.tap.created`.
 * - `subject` and the message key are the resource the event is about: a tap's band by its uid (the `bandId`
 *   the wristband's URL carries, which it has from its first tap, before a band row exists: one key for all
 *   of a band's taps keeps them in one partition, in order), else the event, export or endpoint the data names.
 * - `dataschema` is the absolute URL of the type's JSON Schema on the public origin (Schemas.ts serves it).
 */

export const SPEC_VERSION = "1.0"
export const TYPE_PREFIX = "tapline."
export const CONTENT_TYPE = "application/cloudevents+json"

/** The organisation an event belongs to: its id names the source, its slug routes the message. */
export interface Organization {
  readonly id: string
  readonly slug: string
}

export const schemaPath = (type: string) => `/api/v1/schemas/${type}.json`

/** The absolute URL of a type's JSON Schema; `origin` is PUBLIC_URL (Config/AppConfig: publicOrigin). */
export const schemaUrl = (origin: URL, type: string) => new URL(schemaPath(type), origin).href

export const sourceOf = (organizationId: string) => `/organizations/${organizationId}`

interface Rendering {
  readonly type: string
  readonly id: string
  readonly key: string
  readonly time: Date
  readonly data: Record<string, unknown>
}

const render = (origin: URL, organization: Organization, event: Rendering): BrokerMessage => {
  const type = `${TYPE_PREFIX}${event.type}`
  const body = JSON.stringify({
    specversion: SPEC_VERSION,
    id: event.id,
    source: sourceOf(organization.id),
    type,
    subject: event.key,
    time: event.time.toISOString(),
    datacontenttype: "application/json",
    dataschema: schemaUrl(origin, event.type),
    data: event.data
  })
  return { id: event.id, type, key: event.key, organizationSlug: organization.slug, body }
}

/** A tap's `data`: the webhook `tap.created` fields for one tap; the address, user agent and URL stay home. */
export const tapData = (tap: TapRecord) => ({
  id: tap.id,
  // A band the tap assigned to an event has no id yet; the event is the one it is being assigned to.
  eventId: tap.eventId ?? tap.assign?.eventId ?? null,
  bandId: tap.bandId,
  bandUid: tap.bandUid,
  windowId: tap.windowId,
  mode: tap.mode,
  redirectKind: tap.kind,
  tappedAt: new Date(tap.at).toISOString(),
  isBot: tap.bot,
  isDuplicate: tap.dup
})

/** One tap as the tap stream carries it, for its organisation (the caller resolved `orgId` to it). */
export const tap = (origin: URL, organization: Organization, record: TapRecord): BrokerMessage =>
  render(origin, organization, {
    type: "tap.created",
    id: record.id,
    key: record.bandUid,
    time: new Date(record.at),
    data: tapData(record)
  })

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : undefined

/** The resource an outbox event is about: its broker key and CloudEvent subject. */
const resourceOf = (message: OutboxMessage): string => {
  const data = message.data
  const named =
    message.eventType === "band.flagged"
      ? // By uid, as the band's taps are: a band's flag lands in its taps' partition, after them.
        (text(data.bandUid) ?? text(data.bandId))
      : message.eventType === "export.ready"
        ? text(data.exportId)
        : message.eventType.startsWith("webhook.")
          ? text(data.endpointId)
          : text(data.eventId)
  return named ?? message.organizationId
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}

/** One tap of an outbox `tap.created` batch, read back from its JSON (PostgreSQL's `jsonb_build_object`). */
const outboxTap = (value: unknown, recorded: Date) => {
  const tap = record(value)
  const parsed = new Date(String(tap.tappedAt))
  const at = Number.isNaN(parsed.getTime()) ? recorded : parsed
  return {
    at,
    data: {
      id: String(tap.id),
      eventId: tap.eventId ?? null,
      bandId: tap.bandId ?? null,
      bandUid: String(tap.bandUid),
      windowId: tap.windowId ?? null,
      mode: tap.mode ?? null,
      redirectKind: tap.redirectKind,
      tappedAt: at.toISOString(),
      isBot: tap.isBot === true,
      isDuplicate: tap.isDuplicate === true
    }
  }
}

/**
 * The messages of one outbox event (Outbox/Destination.ts), `id` = the outbox message id. An outbox
 * `tap.created` holds up to 1 000 taps for webhooks; a broker gets one message per tap, each with the tap's
 * id, exactly as the tap stream renders it (so a broker that de-duplicates by id, NATS, keeps one of each).
 */
export const outbox = (
  origin: URL,
  organization: Organization,
  message: OutboxMessage
): ReadonlyArray<BrokerMessage> => {
  if (message.eventType === "tap.created") {
    const taps = Array.isArray(message.data.taps) ? message.data.taps : []
    return taps.map((value) => {
      const { at, data } = outboxTap(value, message.createdAt)
      return render(origin, organization, {
        type: "tap.created",
        id: data.id,
        key: data.bandUid,
        time: at,
        data
      })
    })
  }
  return [
    render(origin, organization, {
      type: message.eventType,
      id: message.id,
      key: resourceOf(message),
      time: message.createdAt,
      data: message.data
    })
  ]
}
