import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig, isEmbedded } from "../Config/AppConfig.js"

export const DEMO_SLUG = "demo"
export const DEMO_EVENT_NAME = "Tapline Demo Festival"
export const DEMO_BAND_COUNT = 1000

export const demoBandUid = (n: number) => `DEMO-${String(n).padStart(4, "0")}`

export interface DemoSeedResult {
  readonly organizationId: string
  readonly eventId: string
  readonly bandCount: number
}

/**
 * The demo tenant: organisation `demo`, one ACTIVE event and bands DEMO-0001…DEMO-1000. Idempotent; each run
 * re-centres the event's PRE/LIVE/POST windows on the current time so that a tap always lands in LIVE right
 * after start-up, whenever the data folder was created.
 */
export const seedDemo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      const [organization] = yield* sql<{ id: string }>`
        insert into organizations (slug, name, website_url, contact_email)
        values (${DEMO_SLUG}, 'Demo Organisation', 'https://example.com/demo', 'demo@example.com')
        on conflict (slug) do update set deleted_at = null, updated_at = now()
        returning id`
      const organizationId = organization!.id

      const existing = yield* sql<{ id: string }>`
        select id from events where organization_id = ${organizationId} and name = ${DEMO_EVENT_NAME}
        order by created_at limit 1`
      const eventId =
        existing[0]?.id ??
        (yield* sql<{ id: string }>`
          insert into events (organization_id, name, venue, address, latitude, longitude, timezone, status,
            fallback_url, estimated_attendees, starts_at, ends_at)
          values (${organizationId}, ${DEMO_EVENT_NAME}, 'Parc de la Villette', '211 Av. Jean Jaurès, Paris',
            48.8938, 2.3908, 'Europe/Paris', 'ACTIVE', 'https://example.com/demo/info', 1000,
            now() - interval '1 day', now() + interval '30 days')
          returning id`)[0]!.id
      yield* sql`
        update events set status = 'ACTIVE', schedule_mode = 'scheduled', deleted_at = null, updated_at = now()
        where id = ${eventId}`

      yield* sql`delete from windows where event_id = ${eventId}`
      yield* sql`
        insert into windows (organization_id, event_id, type, title, url, starts_at, ends_at) values
          (${organizationId}, ${eventId}, 'PRE', 'Before the show', 'https://example.com/demo/register',
            date_trunc('minute', now()) - interval '1 day', date_trunc('minute', now()) - interval '1 hour'),
          (${organizationId}, ${eventId}, 'LIVE', 'During the show', 'https://example.com/demo/live',
            date_trunc('minute', now()) - interval '1 hour', date_trunc('minute', now()) + interval '3 hours'),
          (${organizationId}, ${eventId}, 'POST', 'After the show', 'https://example.com/demo/recap',
            date_trunc('minute', now()) + interval '3 hours', date_trunc('minute', now()) + interval '30 days')`

      yield* sql`
        insert into bands (organization_id, event_id, band_uid)
        select ${organizationId}, ${eventId}, 'DEMO-' || lpad(n::text, 4, '0')
        from generate_series(1, ${DEMO_BAND_COUNT}) as n
        on conflict (event_id, band_uid) do nothing`
      const [count] = yield* sql<{ count: string }>`
        select count(*) as count from bands where event_id = ${eventId} and band_uid like 'DEMO-%'`

      yield* sql`
        insert into audit_log (actor_type, organization_id, action, resource_type, resource_id, new_values)
        values ('system', ${organizationId}, 'demo.seed', 'event', ${eventId},
          ${JSON.stringify({ windows: ["PRE", "LIVE", "POST"], bands: DEMO_BAND_COUNT })}::jsonb)`

      return { organizationId, eventId, bandCount: Number(count?.count ?? 0) } satisfies DemoSeedResult
    })
  )
}).pipe(Effect.withSpan("Demo.seed"))

/** What the demo seed did, for the banner printed once the server listens. */
export class DemoSeeded extends Context.Tag("@tapline/server/DemoSeeded")<
  DemoSeeded,
  Option.Option<DemoSeedResult>
>() {}

/** Seeds in embedded mode, or anywhere with TAPLINE_DEMO=1. */
export const layer = Layer.effect(
  DemoSeeded,
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (!isEmbedded(config) && !config.embedded.demo) return Option.none()
    const result = yield* seedDemo
    yield* Effect.logInfo("demo data ready").pipe(Effect.annotateLogs({ ...result }))
    return Option.some(result)
  })
)

/** For tests and tools that never want demo data, whatever the configuration. */
export const none = Layer.succeed(DemoSeeded, Option.none())
