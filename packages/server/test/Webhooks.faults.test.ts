import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { startPostgresServer } from "@tapline/testing/postgresServer"
import { ConfigProvider, Context, Effect, Layer, Logger, Schedule } from "effect"
import { Audit } from "../src/Audit/Audit.js"
import { AppConfig } from "../src/Config/AppConfig.js"
import { SecretBox } from "../src/Crypto/SecretBox.js"
import { layerPool, migrate } from "../src/Database/Database.js"
import * as MemoryJobs from "../src/Jobs/MemoryJobs.js"
import { Mailer } from "../src/Mail/Mailer.js"
import * as Outbox from "../src/Outbox/Outbox.js"
import * as Runtime from "../src/Runtime.js"
import * as WebhookDispatcher from "../src/Webhooks/Dispatcher.js"
import { newSecret } from "../src/Webhooks/Signature.js"
import { secretData, urlData } from "../src/Webhooks/Webhooks.js"
import { startCaptureServer } from "./support/CaptureServer.js"
import { poolOptions } from "./support/TestDatabase.js"

/*
 * The webhook dispatcher is a background loop: when PostgreSQL stops under it, it says so in an ERROR line
 * and keeps trying; when PostgreSQL is back, what was due is delivered, what was published since too, and
 * nothing is lost (an attempt whose outcome could not be recorded is made again: receivers deduplicate on
 * webhook-id). A private PostgreSQL server is stopped and started for real.
 */

const logs: Array<{ level: string; message: string }> = []
const collect = Logger.make(({ logLevel, message }) => {
  logs.push({ level: logLevel.label, message: String(Array.isArray(message) ? message[0] : message) })
})

class Peers extends Context.Tag("test/WebhookFaultPeers")<
  Peers,
  {
    readonly pg: Awaited<ReturnType<typeof startPostgresServer>>
    readonly receiver: Awaited<ReturnType<typeof startCaptureServer>>
  }
>() {}

const harness = Layer.unwrapScoped(
  Effect.gen(function* () {
    const pg = yield* Effect.acquireRelease(
      Effect.promise(() => startPostgresServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    const receiver = yield* Effect.acquireRelease(
      Effect.promise(() => startCaptureServer()),
      (server) => Effect.promise(() => server.close())
    )
    receiver.fallback = () => ({ status: 204 })
    const config = AppConfig.layer.pipe(
      Layer.provide(
        Layer.setConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["OUTBOUND_ALLOW", "127.0.0.1"],
              ["WEBHOOK_POLL_INTERVAL", "50 millis"],
              // A claim outlives an attempt by the timeout and 10 s: kept short, as a delivery sent but not
              // recorded (PostgreSQL went away in between) is due again when its claim expires.
              ["WEBHOOK_TIMEOUT", "1 second"],
              ["WEBHOOK_RETRY_DELAYS", "1 second,1 second,1 second,1 second"],
              ["TAPLINE_ENCRYPTION_KEYS", `1:${Buffer.alloc(32, 3).toString("base64")}`],
              ["LOG_LEVEL", "WARN"]
            ])
          )
        )
      )
    )
    const database = Layer.effectDiscard(migrate).pipe(Layer.provideMerge(layerPool(poolOptions(pg.url))))
    return WebhookDispatcher.layer.pipe(
      Layer.provide([Audit.Default, Mailer.Default]),
      Layer.provideMerge(Runtime.platform({ database, jobs: MemoryJobs.layer })),
      Layer.provideMerge(config),
      Layer.merge(Layer.succeed(Peers, { pg, receiver })),
      Layer.provide(Logger.replace(Logger.defaultLogger, collect))
    )
  })
)

describe("webhook dispatcher under a PostgreSQL outage", () => {
  layer(harness, { excludeTestServices: true, timeout: 180_000 })((it) => {
    it.effect(
      "it reports the outage, keeps trying, and delivers what was due and what came after",
      () =>
        Effect.gen(function* () {
          const { pg, receiver } = yield* Peers
          const sql = yield* SqlClient.SqlClient
          const secrets = yield* SecretBox
          const [org] = yield* sql<{
            id: string
          }>`insert into organizations (slug, name) values ('faults', 'Faults') returning id`
          const orgId = org!.id
          yield* sql`
          insert into webhook_endpoints (organization_id, kind, url_sealed, url_shown, event_types, secret_sealed)
          values (${orgId}, 'webhook', ${secrets.encrypt(`${receiver.url}/hook`, urlData(orgId))}, ${`${receiver.url}/hook`},
            ${["export.ready"]}::text[], ${secrets.encrypt(newSecret(), secretData(orgId))})`
          const publish = (n: number) => Outbox.publish(orgId, "export.ready", { n })
          const received = (n: number) =>
            Effect.sync(() => receiver.requests.filter((r) => JSON.parse(r.body).data.n === n).length).pipe(
              Effect.filterOrFail((count) => count > 0),
              Effect.retry(Schedule.spaced("100 millis")),
              Effect.timeout("60 seconds")
            )

          yield* publish(1)
          yield* received(1)

          // A delivery that fails once is due again a second later, by which time PostgreSQL is gone.
          let refuse = true
          receiver.fallback = () => (refuse ? { status: 503 } : { status: 204 })
          yield* publish(2)
          yield* Effect.sync(() => receiver.requests.some((r) => JSON.parse(r.body).data.n === 2)).pipe(
            Effect.filterOrFail((seen) => seen),
            Effect.retry(Schedule.spaced("50 millis")),
            Effect.timeout("30 seconds")
          )
          refuse = false
          yield* Effect.promise(() => pg.stop("fast"))
          yield* Effect.sync(() =>
            logs.some((l) => l.level === "ERROR" && l.message.includes("webhook dispatcher"))
          ).pipe(
            Effect.filterOrFail((seen) => seen),
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeout("30 seconds")
          )
          yield* Effect.promise(() => pg.start())

          yield* publish(3).pipe(Effect.retry(Schedule.spaced("200 millis")), Effect.timeout("30 seconds"))
          yield* received(3)
          // The message refused before the outage, retried after it.
          yield* Effect.sync(
            () => receiver.requests.filter((r) => JSON.parse(r.body).data.n === 2).length
          ).pipe(
            Effect.filterOrFail((count) => count >= 2),
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeout("60 seconds")
          )
          const states = yield* sql<{ status: string; n: number }>`
          select d.status, (m.payload->>'n')::int as n from webhook_deliveries d
          join webhook_messages m on m.id = d.message_id order by n`.pipe(
            Effect.filterOrFail((rows) => rows.every((row) => row.status === "succeeded")),
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeout("30 seconds")
          )
          expect(states.map((row) => [row.n, row.status])).toEqual([
            [1, "succeeded"],
            [2, "succeeded"],
            [3, "succeeded"]
          ])
        }),
      150_000
    )
  })
})
