import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { startPostgresServer } from "@tapline/testing/postgresServer"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Cause, ConfigProvider, Context, Effect, Layer, Logger, Schedule } from "effect"
import { afterAll } from "vitest"
import { AppConfig } from "../src/Config/AppConfig.js"
import { layerPool, migrate } from "../src/Database/Database.js"
import * as MemoryJobs from "../src/Jobs/MemoryJobs.js"
import * as JourneySender from "../src/Journeys/JourneySender.js"
import * as Runtime from "../src/Runtime.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { poolOptions } from "./support/TestDatabase.js"

/*
 * The journeys' sender while PostgreSQL restarts under it (a private server, stopped and started for real):
 * it says so once, counts the failed rounds, backs off and resumes by itself; every queued message is sent,
 * and none twice, including those whose send was in flight when the database went (the provider took them;
 * their `sent` is recorded once it is back, not sent again when their lease runs out).
 */

const MESSAGES = 40
const smtp = await startSmtpPeer()
afterAll(() => smtp.stop())

const logs: Array<{ level: string; message: string; cause: string }> = []
const collect = Logger.make(({ cause, logLevel, message }) => {
  logs.push({
    level: logLevel.label,
    message: String(Array.isArray(message) ? message[0] : message),
    cause: Cause.pretty(cause).slice(0, 300)
  })
})

class Pg extends Context.Tag("test/JourneyFaultsPostgres")<
  Pg,
  Awaited<ReturnType<typeof startPostgresServer>>
>() {}

const settings = ConfigProvider.fromMap(
  new Map([
    ["EMAIL_PROVIDERS", "smtp"],
    ["SMTP_URL", `smtp://127.0.0.1:${smtp.port}`],
    ["EMAIL_FROM", "Tapline <journeys@tapline.test>"],
    ["EMAIL_TIMEOUT", "5 seconds"],
    ["JOURNEY_POLL_INTERVAL", "50 millis"],
    // Slow enough that sends are in flight when the database goes; a lease far beyond the outage, so a
    // message sent twice would be the sender's doing, not an expired claim's.
    ["JOURNEY_EMAIL_RATE", "20"],
    ["JOURNEY_SEND_CONCURRENCY", "4"],
    ["JOURNEY_SEND_LEASE", "30 seconds"],
    ["LOG_LEVEL", "INFO"]
  ])
)

const harness = Layer.unwrapScoped(
  Effect.gen(function* () {
    const pg = yield* Effect.acquireRelease(
      Effect.promise(() => startPostgresServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    const database = Layer.effectDiscard(migrate).pipe(Layer.provideMerge(layerPool(poolOptions(pg.url))))
    return Runtime.platform({ database, jobs: MemoryJobs.layer }).pipe(
      Layer.provideMerge(AppConfig.layer),
      Layer.merge(Layer.succeed(Pg, pg)),
      Layer.provide(Logger.replace(Logger.defaultLogger, collect)),
      Layer.provide(Layer.setConfigProvider(settings))
    )
  })
)

const queueMessages = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const organization = yield* makeOrganization()
  const event = yield* makeEvent(organization)
  yield* sql`
    with b as (
      insert into bands (organization_id, event_id, band_uid)
      select ${organization.id}, ${event.id}, 'PG-' || n from generate_series(1, ${MESSAGES}) n
      returning id, organization_id, band_uid),
    r as (
      insert into registrants (organization_id, band_id, email, source)
      select organization_id, id, 'restart-' || lower(band_uid) || '@people.test', 'api' from b
      returning id)
    insert into registrant_consents (registrant_id, channel, granted, at, source)
    select id, 'email', true, now(), 'api' from r`
  const [journey] = yield* sql<{ id: string }>`
    insert into journeys (organization_id, event_id, name, trigger, subject, body)
    values (${organization.id}, ${event.id}, 'Welcome', 'first_tap', 'Hello', 'Hi {{unsubscribeUrl}}')
    returning id`
  yield* sql`
    insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
    select organization_id, ${journey!.id}, id, now(), md5(random()::text) from bands where event_id = ${event.id}`
  return journey!.id
}).pipe(Effect.orDie)

const until = <A>(what: string, check: Effect.Effect<A | undefined, unknown>, seconds = 60) =>
  check.pipe(
    Effect.filterOrFail((value): value is A => value !== undefined),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({
      duration: `${seconds} seconds`,
      onTimeout: () => new Error(`timed out: ${what}; last logs: ${JSON.stringify(logs.slice(-5))}`)
    }),
    Effect.orDie
  )

describe("journey sender under a PostgreSQL restart", () => {
  layer(harness, { excludeTestServices: true, timeout: 180_000 })((it) => {
    it.scoped(
      "backs off (said once, counted), resumes by itself, sends every message once",
      () =>
        Effect.gen(function* () {
          const pg = yield* Pg
          const sql = yield* SqlClient.SqlClient
          const metrics = yield* Metrics
          const journeyId = yield* queueMessages
          const delivered = () =>
            smtp.received.flatMap((mail) => {
              const to = JSON.stringify(mail.to)
              return to.includes("restart-") ? [to] : []
            })
          // The sender starts here, with the messages already queued.
          yield* Layer.build(JourneySender.layer.pipe(Layer.provide(Layer.setConfigProvider(settings))))
          yield* until(
            "the first sends",
            Effect.sync(() => (delivered().length >= 5 ? true : undefined))
          )
          yield* Effect.promise(() => pg.stop("fast"))
          yield* until(
            "the outage said",
            Effect.sync(() =>
              logs.some((l) => l.level === "ERROR" && l.message.includes("journey sender paused"))
                ? true
                : undefined
            )
          )
          // A few more failed rounds while it is down: still said once.
          const failures = () =>
            Effect.promise(async () => {
              const metric = await metrics.registry
                .getSingleMetric("tapline_journey_sender_failures_total")
                ?.get()
              return metric?.values[0]?.value ?? 0
            })
          const first = yield* failures()
          yield* until(
            "more failed rounds",
            Effect.map(failures(), (n) => (n >= first + 2 ? true : undefined))
          )
          yield* Effect.promise(() => pg.start())
          const statuses = yield* until(
            "every message sent",
            Effect.map(
              Effect.either(
                sql<{ status: string; n: number }>`
                  select status, count(*)::int as n from journey_messages where journey_id = ${journeyId} group by 1`
              ),
              (result) =>
                result._tag === "Right" && result.right.length === 1 && result.right[0]!.status === "sent"
                  ? result.right
                  : undefined
            ),
            90
          )
          expect(statuses).toEqual([{ status: "sent", n: MESSAGES }])
          yield* until(
            "resumed said",
            Effect.sync(() =>
              logs.some((l) => l.message.includes("journey sender resumed")) ? true : undefined
            )
          )
          // Every recipient exactly once at the provider.
          const to = delivered()
          expect(new Set(to).size).toBe(MESSAGES)
          expect(to).toHaveLength(MESSAGES)
          expect(
            logs.filter((l) => l.level === "ERROR" && l.message.includes("journey sender paused"))
          ).toHaveLength(1)
        }),
      150_000
    )
  })
})
