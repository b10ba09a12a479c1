import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/*
 * The webhook outbox, at the level of the database so that every writer can publish in its own transaction:
 * the admin features (through the change hook), the tap writer (bands a tap assigned or flagged) and the
 * export job. The Webhooks feature owns the tables and delivers what is written here.
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
