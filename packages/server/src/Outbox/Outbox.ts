import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { eventsOfChange } from "./Events.js"
import type { RecordedChange } from "./RecordedChange.js"

/*
 * The outbox: the one place that writes domain events for delivery, always in the transaction of what they
 * report, so an event leaves if and only if its change committed. A message (`webhook_messages`) gets one
 * delivery (`webhook_deliveries`) per enabled endpoint of the organisation subscribed to its type; the
 * dispatcher reads the deliveries and hands each to the destination of its endpoint's kind (Destination.ts).
 * The writers: the unit of work for every recorded change (Admin/Changes.ts), the tap writer for its taps
 * and the bands they assigned (Taps/TapStore.ts), the export job and the dispatcher itself.
 */

/**
 * A message and one delivery per enabled endpoint of the organisation subscribed to `eventType` (or only
 * `endpointId`, for a test ping), in the caller's transaction. Nothing is written when nobody listens.
 * Answers the message id, or null.
 */
export const publish = (organizationId: string, eventType: string, data: unknown, endpointId?: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const endpoints =
      endpointId === undefined
        ? yield* sql<{ id: string }>`
            select id from webhook_endpoints
            where organization_id = ${organizationId} and enabled and ${eventType} = any(event_types)`
        : [{ id: endpointId }]
    if (endpoints.length === 0) return null
    const [message] = yield* sql<{ id: string }>`
      insert into webhook_messages (organization_id, event_type, payload)
      values (${organizationId}, ${eventType}, ${JSON.stringify(data)}::jsonb) returning id`
    yield* sql`
      insert into webhook_deliveries (endpoint_id, message_id)
      select unnest(${endpoints.map((e) => e.id)}::uuid[]), ${message!.id}`
    return message!.id
  })

/** The events a recorded change announces (Events.ts), published in its transaction; the unit of work calls it. */
export const publishChange = (change: RecordedChange) => {
  const organizationId = change.organizationId
  if (organizationId === null) return Effect.void
  return Effect.forEach(eventsOfChange(change), (event) => publish(organizationId, event.type, event.data), {
    discard: true
  })
}

/**
 * `tap.created`, batched, as common table expressions for the tap writer's one statement: one message per
 * organisation and 1 000 taps of the rows in the CTE named `inserted` (the taps stored, with the columns a
 * tap's event carries), for the organisations with an endpoint that subscribed. Spliced into the writer's
 * statement rather than run after it: the writer must not pay a round trip per batch for organisations
 * without webhooks, and a redelivered batch, which inserts no tap, publishes none.
 */
export const tapsCreated = (sql: SqlClient.SqlClient, inserted: string) => sql`
  tap_subscribed as (
    select distinct organization_id from webhook_endpoints where enabled and 'tap.created' = any(event_types)
  ),
  tap_numbered as (
    select i.*,
      (row_number() over (partition by i.organization_id order by i.tapped_at, i.id) - 1) / 1000 as chunk
    from ${sql(inserted)} i join tap_subscribed s on s.organization_id = i.organization_id
  ),
  tap_messages as (
    insert into webhook_messages (organization_id, event_type, payload)
    select organization_id, 'tap.created', jsonb_build_object('taps', jsonb_agg(jsonb_build_object(
      'id', id, 'eventId', event_id, 'bandId', band_id, 'bandUid', band_uid, 'windowId', window_id,
      'mode', mode, 'redirectKind', redirect_kind, 'tappedAt', tapped_at, 'isBot', is_bot,
      'isDuplicate', is_duplicate) order by tapped_at, id))
    from tap_numbered group by organization_id, chunk
    returning id, organization_id
  ),
  tap_deliveries as (
    insert into webhook_deliveries (endpoint_id, message_id)
    select e.id, m.id from tap_messages m
    join webhook_endpoints e on e.organization_id = m.organization_id and e.enabled
      and 'tap.created' = any(e.event_types)
  )`
