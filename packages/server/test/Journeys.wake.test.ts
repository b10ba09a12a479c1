import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect, Schedule } from "effect"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"

/*
 * The sender does not wait for its poll (an hour here) when there is work: the journeys' tap sink wakes it
 * when it queues messages, and after a round that found nothing due it sleeps only until the earliest queued
 * message falls due. Before, a message due now waited up to JOURNEY_POLL_INTERVAL, and a sender held to its
 * provider's rate never won that back (bench:journeys: the first messages' excess of about a second).
 */

const smtp = await startSmtpPeer()
afterAll(() => smtp.stop())

const seed = Math.floor(Math.random() * 1e9)
console.log(`Journeys.wake.test seed ${seed}`)
const address = (who: string) => `${who}-${seed}@people.test`
const mailTo = (to: string) =>
  Effect.sync(() => smtp.received.find((m) => JSON.stringify(m.to).includes(to))).pipe(
    Effect.flatMap((mail) => (mail === undefined ? Effect.fail("not yet" as const) : Effect.succeed(mail))),
    Effect.retry({ while: (e) => e === "not yet", schedule: Schedule.spaced("50 millis") }),
    // Far below the poll of an hour, far above a loaded machine's few seconds.
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`no mail to ${to}`) }),
    Effect.orDie
  )

const tap = (tenant: Tenant, bandUid: string) =>
  Effect.flatMap(AdminServer, ({ port }) =>
    request(port, `/e?bandId=${bandUid}`, { host: `${tenant.slug}.${TAP_DOMAIN}` })
  )

layer(
  adminHarness(
    {
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: "Tapline <journeys@tapline.test>",
      JOURNEY_POLL_INTERVAL: "1 hour"
    },
    { role: "all" }
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("journey sender wake-ups", (it) => {
  it.effect(
    "a tap's message goes out at once, and a later one when it falls due, with a poll of an hour",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = yield* createTenant(yield* bootstrapKey("journeys-wake@example.com"))
        const { eventId } = yield* liveEvent(t, ["W-1", "W-2"], "Wake night")
        const bands = Object.fromEntries(
          (yield* sql<{
            bandUid: string
            id: string
          }>`select band_uid, id from bands where event_id = ${eventId}`).map((r) => [r.bandUid, r.id])
        )
        for (const [uid, who] of [
          ["W-1", "ada"],
          ["W-2", "bob"]
        ] as const) {
          const body = {
            bandId: bands[uid],
            name: who,
            email: address(who),
            consents: [{ channel: "email", granted: true, wording: "Yes" }]
          }
          yield* ok(
            yield* call("POST", `/api/v1/organizations/${t.orgId}/registrants`, { key: t.keys.EDITOR, body }),
            201
          )
        }
        const journey = (name: string, delayMinutes: number) =>
          Effect.flatMap(
            call("POST", `/api/v1/organizations/${t.orgId}/journeys`, {
              key: t.keys.EDITOR,
              body: { eventId, name, trigger: { _tag: "first_tap" }, delayMinutes, subject: name, body: "Hi" }
            }),
            (reply) => Effect.map(ok(reply, 201, "journey"), (r) => r.body.id as string)
          )
        const later = yield* journey("Later", 1)

        // Ada's first tap queues "Later", due in a minute; it is brought forward to two seconds from now.
        yield* tap(t, "W-1")
        yield* Effect.retry(
          sql`update journey_messages set due_at = now() + interval '2 seconds' where journey_id = ${later}
          returning id`.pipe(
            Effect.filterOrFail(
              (rows) => rows.length === 1,
              () => "not queued yet" as const
            )
          ),
          { schedule: Schedule.spaced("50 millis"), times: 400 }
        )
        // Bob's tap queues "Now" (due at once) and wakes the sender, which then sleeps until Ada's is due.
        yield* journey("Now", 0)
        yield* tap(t, "W-2")
        const bob = yield* mailTo(address("bob"))
        expect(bob.subject).toBe("Now")
        const ada = yield* mailTo(address("ada"))
        expect(ada.subject).toBe("Later")
      })
  )
})
