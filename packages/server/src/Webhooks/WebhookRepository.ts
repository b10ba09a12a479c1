import * as SqlClient from "@effect/sql/SqlClient"
import type { OrganizationId, WebhookEndpointId, WebhookEventType } from "@tapline/domain"
import { Effect } from "effect"
import { BROKER_KINDS, type EndpointKind } from "../Outbox/Destination.js"
import * as Outbox from "../Outbox/Outbox.js"

/**
 * Which API an endpoint belongs to: webhooks and chat (Webhooks/), or an organisation's brokers
 * (Destinations/). Each API finds, lists and removes only its own, though both live in one table.
 */
export type Family = "webhook" | "broker"

const inFamily = (sql: SqlClient.SqlClient, family: Family) =>
  family === "broker"
    ? sql`kind = any(${BROKER_KINDS}::text[])`
    : sql`not (kind = any(${BROKER_KINDS}::text[]))`

export interface EndpointRow {
  readonly id: WebhookEndpointId
  readonly organizationId: OrganizationId
  readonly kind: EndpointKind
  readonly urlSealed: string
  readonly urlShown: string
  readonly description: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly secretSealed: string | null
  readonly previousSecretSealed: string | null
  readonly previousSecretUntil: Date | null
  readonly enabled: boolean
  readonly disabledReason: string | null
  readonly failingSince: Date | null
  /** Messages acknowledged (a broker counts a tap batch as its taps), the last success and failure. */
  readonly deliveredCount: string | number
  readonly lastDeliveredAt: Date | null
  readonly lastError: string | null
  readonly lastErrorAt: Date | null
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** What waits for an endpoint: its lag. */
export interface Backlog {
  readonly endpointId: string
  readonly pending: number
  readonly oldestPendingAt: Date | null
}

/** A delivery the dispatcher claimed: the endpoint and the message with it. */
export interface DueDelivery {
  readonly endpointId: WebhookEndpointId
  readonly messageId: string
  readonly attempts: number
  readonly organizationId: OrganizationId
  readonly kind: EndpointKind
  readonly urlSealed: string
  readonly urlShown: string
  readonly secretSealed: string | null
  readonly previousSecretSealed: string | null
  readonly eventType: string
  readonly payload: Record<string, unknown>
  readonly messageCreatedAt: Date
}

/** What a claim may take: caps per endpoint and organisation, less what this process has in flight. */
export interface ClaimBudget {
  readonly perEndpoint: number
  readonly perOrganization: number
  readonly endpointsInFlight: Readonly<Record<string, number>>
  readonly organizationsInFlight: Readonly<Record<string, number>>
}

export interface AttemptResult {
  readonly responseStatus: number | null
  readonly responseMs: number
  readonly error: string | null
}

/** The only SQL on the webhook tables (the outbox's writes aside: see Outbox/Outbox.ts). */
export class WebhookRepository extends Effect.Service<WebhookRepository>()(
  "@tapline/server/WebhookRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const insert = (row: {
        readonly organizationId: OrganizationId
        readonly kind: EndpointKind
        readonly urlSealed: string
        readonly urlShown: string
        readonly description: string
        readonly eventTypes: ReadonlyArray<string>
        readonly secretSealed: string | null
      }) =>
        sql<EndpointRow>`
        insert into webhook_endpoints (organization_id, kind, url_sealed, url_shown, description, event_types, secret_sealed)
        values (${row.organizationId}, ${row.kind}, ${row.urlSealed}, ${row.urlShown}, ${row.description},
          ${row.eventTypes}::text[], ${row.secretSealed})
        returning *`.pipe(Effect.map((rows) => rows[0]!))

      const list = (organizationId: OrganizationId, family: Family = "webhook") =>
        sql<EndpointRow>`
        select * from webhook_endpoints where organization_id = ${organizationId} and ${inFamily(sql, family)}
        order by id`

      const find = (
        organizationId: OrganizationId,
        id: WebhookEndpointId,
        options: { readonly lock?: boolean; readonly family?: Family } = {}
      ) =>
        sql<EndpointRow>`
        select * from webhook_endpoints where id = ${id} and organization_id = ${organizationId}
          and ${inFamily(sql, options.family ?? "webhook")}
        ${options.lock ? sql`for update` : sql``}`.pipe(Effect.map((rows) => rows[0]))

      /** Each endpoint's pending deliveries and the oldest one's message time (endpoints with none: absent). */
      const backlog = (endpointIds: ReadonlyArray<string>) =>
        sql<Backlog>`
        select d.endpoint_id, count(*)::int as pending, min(m.created_at) as oldest_pending_at
        from webhook_deliveries d join webhook_messages m on m.id = d.message_id
        where d.endpoint_id = any(${endpointIds}::uuid[]) and d.status = 'pending'
        group by d.endpoint_id`

      /** Every delivery the endpoint gave up on, pending again with a fresh set of retries; how many. */
      const redrive = (endpointId: WebhookEndpointId) =>
        sql`
        update webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), first_attempt_at = null
        where endpoint_id = ${endpointId} and status = 'failed' returning 1`.pipe(
          Effect.map((rows) => rows.length)
        )

      const update = (
        id: WebhookEndpointId,
        columns: Partial<{
          urlSealed: string
          urlShown: string
          description: string
          eventTypes: ReadonlyArray<string>
          enabled: boolean
          disabledReason: string | null
          failingSince: Date | null
          secretSealed: string | null
          previousSecretSealed: string | null
          previousSecretUntil: Date | null
        }>
      ) => {
        const { eventTypes, ...rest } = columns
        const values: Record<string, unknown> = { ...rest, updatedAt: new Date() }
        return sql<EndpointRow>`
        update webhook_endpoints set ${sql.update(values)}
          ${eventTypes === undefined ? sql`` : sql`, event_types = ${eventTypes}::text[]`}
        where id = ${id} returning *`
      }

      const remove = (organizationId: OrganizationId, id: WebhookEndpointId, family: Family = "webhook") =>
        sql<EndpointRow>`
        delete from webhook_endpoints
        where id = ${id} and organization_id = ${organizationId} and ${inFamily(sql, family)} returning *`.pipe(
          Effect.map((rows) => rows[0])
        )

      /** See Outbox/Outbox.ts: in the caller's transaction, nothing when nobody listens. */
      const publish = (
        organizationId: OrganizationId,
        eventType: string,
        data: unknown,
        endpointId?: WebhookEndpointId
      ) =>
        Outbox.publish(organizationId, eventType, data, endpointId).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )

      const deliveries = (
        endpointId: WebhookEndpointId,
        query: { readonly after: string | null; readonly limit: number }
      ) =>
        sql`
        select d.message_id, m.event_type, d.status, d.attempts,
          case when d.status = 'pending' then d.next_attempt_at end as next_attempt_at,
          d.last_response_status, d.last_response_ms as last_response_time_ms, d.last_error, d.created_at
        from webhook_deliveries d join webhook_messages m on m.id = d.message_id
        where d.endpoint_id = ${endpointId} ${query.after === null ? sql`` : sql`and d.message_id < ${query.after}`}
        order by d.message_id desc limit ${query.limit + 1}`

      const attempts = (
        endpointId: WebhookEndpointId,
        query: { readonly after: string | null; readonly limit: number }
      ) =>
        sql`
        select a.id, a.message_id, m.event_type, a.response_status, a.response_ms as response_time_ms, a.error,
          a.attempted_at
        from webhook_attempts a join webhook_messages m on m.id = a.message_id
        where a.endpoint_id = ${endpointId} ${query.after === null ? sql`` : sql`and a.id < ${query.after}`}
        order by a.id desc limit ${query.limit + 1}`

      /** Sends it again from now, with a fresh set of retries; false when the endpoint never had the message. */
      const redeliver = (endpointId: WebhookEndpointId, messageId: string) =>
        sql`
        update webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), first_attempt_at = null
        where endpoint_id = ${endpointId} and message_id = ${messageId} returning 1`.pipe(
          Effect.map((rows) => rows.length > 0)
        )

      /**
       * Claims up to `limit` due deliveries of enabled endpoints for `leaseSeconds`: another instance skips
       * them meanwhile, and a claim whose process died is due again when the lease runs out. Organisations
       * take turns (then their endpoints), and what this process has in flight counts against the caps of
       * `budget`: a delivery beyond a cap stays pending for a later claim instead of holding a slot.
       */
      const claimDue = (limit: number, leaseSeconds: number, budget: ClaimBudget) =>
        sql<DueDelivery>`
        with candidates as (
          select d.endpoint_id, d.message_id, d.next_attempt_at, e.organization_id,
            row_number() over (partition by d.endpoint_id order by d.next_attempt_at, d.message_id)
              + coalesce((${JSON.stringify(budget.endpointsInFlight)}::jsonb ->> d.endpoint_id::text)::int, 0)
              as endpoint_turn
          from webhook_deliveries d
          join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
          where d.status = 'pending' and d.next_attempt_at <= now()
        ),
        turns as (
          select c.*, row_number() over (partition by c.organization_id order by c.endpoint_turn, c.next_attempt_at)
              + coalesce((${JSON.stringify(budget.organizationsInFlight)}::jsonb ->> c.organization_id::text)::int, 0)
              as organization_turn
          from candidates c where c.endpoint_turn <= ${budget.perEndpoint}
        ),
        picked as (
          select endpoint_id, message_id from turns where organization_turn <= ${budget.perOrganization}
          order by organization_turn, next_attempt_at limit ${limit}
        ),
        due as (
          select d.endpoint_id, d.message_id from webhook_deliveries d
          join picked p on p.endpoint_id = d.endpoint_id and p.message_id = d.message_id
          where d.status = 'pending' and d.next_attempt_at <= now()
          for update of d skip locked
        ),
        claimed as (
          update webhook_deliveries d set next_attempt_at = now() + make_interval(secs => ${leaseSeconds}),
            first_attempt_at = coalesce(d.first_attempt_at, now())
          from due where d.endpoint_id = due.endpoint_id and d.message_id = due.message_id
          returning d.endpoint_id, d.message_id, d.attempts
        )
        select c.endpoint_id, c.message_id, c.attempts, e.organization_id, e.kind, e.url_sealed, e.url_shown,
          e.secret_sealed, case when e.previous_secret_until > now() then e.previous_secret_sealed end as previous_secret_sealed,
          m.event_type, m.payload, m.created_at as message_created_at
        from claimed c
        join webhook_endpoints e on e.id = c.endpoint_id
        join webhook_messages m on m.id = c.message_id`

      /**
       * Logs an attempt and settles its delivery: delivered; or failed with `retryInSeconds` until the next
       * attempt; or failed for good (`retryInSeconds` null). The endpoint's failure record follows: cleared by
       * a success, started by the first failure after one. Answers, for a delivery failed for good, whether
       * the endpoint has failed without a single success since this delivery's first attempt.
       */
      const settle = (
        delivery: { readonly endpointId: WebhookEndpointId; readonly messageId: string },
        result: AttemptResult & {
          readonly delivered: boolean
          readonly retryInSeconds: number | null
          /** Messages the receiver acknowledged (a broker: one per tap of a batch). */
          readonly deliveredCount?: number
        }
      ) =>
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`
            insert into webhook_attempts (endpoint_id, message_id, response_status, response_ms, error)
            values (${delivery.endpointId}, ${delivery.messageId}, ${result.responseStatus}, ${result.responseMs}, ${result.error})`
            const status = result.delivered
              ? "succeeded"
              : result.retryInSeconds === null
                ? "failed"
                : "pending"
            const [settled] = yield* sql<{ firstAttemptAt: Date }>`
            update webhook_deliveries set status = ${status}, attempts = attempts + 1,
              next_attempt_at = now() + make_interval(secs => ${result.retryInSeconds ?? 0}),
              last_response_status = ${result.responseStatus}, last_response_ms = ${result.responseMs},
              last_error = ${result.error}
            where endpoint_id = ${delivery.endpointId} and message_id = ${delivery.messageId}
            returning first_attempt_at`
            const [endpoint] = result.delivered
              ? yield* sql<{ failingSince: Date | null }>`
                update webhook_endpoints set failing_since = null,
                  delivered_count = delivered_count + ${result.deliveredCount ?? 1}, last_delivered_at = now()
                where id = ${delivery.endpointId}
                returning failing_since`
              : yield* sql<{ failingSince: Date | null }>`
                update webhook_endpoints set failing_since = coalesce(failing_since, now()),
                  last_error = ${result.error}, last_error_at = now()
                where id = ${delivery.endpointId} returning failing_since`
            if (status !== "failed" || settled === undefined || endpoint?.failingSince == null) return false
            const delivered = yield* sql`
              select 1 from webhook_attempts
              where endpoint_id = ${delivery.endpointId} and error is null and attempted_at >= ${settled.firstAttemptAt}
              limit 1`
            return delivered.length === 0
          })
        )

      /** Disables an enabled endpoint; false when it was not enabled (already disabled, or gone). */
      const disable = (id: WebhookEndpointId, reason: string) =>
        sql`update webhook_endpoints set enabled = false, disabled_reason = ${reason}, updated_at = now()
        where id = ${id} and enabled returning 1`.pipe(Effect.map((rows) => rows.length > 0))

      /** The organisation's name, branding and owners' addresses, for an alert mail. */
      const ownersOf = (organizationId: OrganizationId) =>
        Effect.all({
          organization: sql<{ name: string; branding: unknown }>`
          select name, branding from organizations where id = ${organizationId}`.pipe(
            Effect.map((rows) => rows[0])
          ),
          owners: sql<{ email: string }>`
          select u.email from memberships m join users u on u.id = m.user_id
          where m.organization_id = ${organizationId} and m.role = 'OWNER' order by u.email`
        })

      const pendingCount = sql<{
        n: number
      }>`select count(*)::int as n from webhook_deliveries where status = 'pending'`.pipe(
        Effect.map((rows) => rows[0]?.n ?? 0)
      )

      /** Removes messages (and their deliveries and attempts) older than `keepDays`; how many. */
      const prune = (keepDays: number) =>
        sql`delete from webhook_messages where created_at < now() - make_interval(days => ${keepDays}) returning 1`.pipe(
          Effect.map((rows) => rows.length)
        )

      /** Every sealed value, for the key rotation: URLs, secrets, and previous secrets in their overlap. */
      const sealedValues = sql<{
        id: string
        organizationId: string
        urlSealed: string
        secretSealed: string | null
        previousSecretSealed: string | null
      }>`select id, organization_id, url_sealed, secret_sealed, previous_secret_sealed from webhook_endpoints`

      /** Writes a re-sealed value back, unless it changed meanwhile (then it is already under the new key). */
      const reseal = (
        id: string,
        column: "url_sealed" | "secret_sealed" | "previous_secret_sealed",
        from: string,
        to: string
      ) =>
        sql`update webhook_endpoints set ${sql(column)} = ${to} where id = ${id} and ${sql(column)} = ${from}`

      return {
        sealedValues,
        reseal,
        insert,
        list,
        find,
        update,
        remove,
        publish,
        deliveries,
        attempts,
        redeliver,
        backlog,
        redrive,
        claimDue,
        settle,
        disable,
        ownersOf,
        pendingCount,
        prune
      } as const
    })
  }
) {}
