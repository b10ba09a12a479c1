import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Changes } from "../src/Admin/Changes.js"
import { Audit } from "../src/Audit/Audit.js"
import { RegistrantRepository } from "../src/Registrants/RegistrantRepository.js"
import { eraseExpired } from "../src/Registrants/RegistrantRetention.js"
import { Registrants } from "../src/Registrants/Registrants.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { eventWith, storeAndRollUp } from "./support/AnalyticsFixtures.js"

/*
 * Issue 33, item 5: a registrant's export holds everything Tapline keeps of the person; erasure removes the
 * person from every table, the audit log and its export, while the event's taps and aggregates stay as they
 * were; the retention job erases registrants of events ended longer ago than REGISTRANT_KEEP_DAYS.
 */

const seed = Date.now() % 100_000
console.log(`Registrants.privacy seed ${seed}`)
const email = `erase-me-${seed}@example.com`
const phone = `+4479111${String(seed).padStart(5, "0")}`
const name = `Eraséd Pérson ${seed}`

const org = (tenant: Tenant, path = "") => `/api/v1/organizations/${tenant.orgId}${path}`

/** Every text, varchar and json(b) column of every table of the test database holding `needle`. */
const searchEverything = (needle: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = yield* sql<{ tableName: string; columnName: string }>`
      select c.table_name, c.column_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
        and c.data_type in ('text', 'character varying', 'json', 'jsonb', 'ARRAY')`
    const found: Array<string> = []
    for (const { columnName, tableName } of columns) {
      const [row] = yield* sql<{ n: number }>`
        select count(*)::int as n from ${sql(tableName)} where strpos(${sql(columnName)}::text, ${needle}) > 0`
      if (row!.n > 0) found.push(`${tableName}.${columnName}`)
    }
    expect(columns.length).toBeGreaterThan(50)
    return found
  })

const aggregates = (tenant: Tenant, eventId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [counts] = yield* sql`
      select count(*)::int as taps, count(distinct band_id)::int as bands,
        (select sum(tap_count)::int from bands where event_id = ${eventId}) as counted
      from taps where event_id = ${eventId}`
    const summary = yield* ok(
      yield* call("GET", org(tenant, `/analytics/events/${eventId}/summary`), { key: tenant.keys.VIEWER }),
      200
    )
    return { counts, summary: summary.body }
  })

layer(adminHarness(), { excludeTestServices: true, timeout: 90_000 })(
  "registrant privacy (issue 33)",
  (it) => {
    it.effect(
      "the export holds the person; erasure leaves no trace of them and every aggregate as it was",
      () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey("registrants-privacy@example.com"))
          const key = tenant.keys.EDITOR
          const { eventId, tap } = yield* eventWith(tenant, { timezone: "UTC", bands: ["P-1", "P-2"] })
          const at = Date.now() - 3_600_000
          yield* storeAndRollUp([tap("P-1", at), tap("P-1", at + 60_000), tap("P-2", at + 120_000)])
          // The person arrives by the import (phone, consent), then the band's PATCH and the registrant's PATCH.
          yield* ok(
            yield* call("POST", org(tenant, `/events/${eventId}/bands/import`), {
              key,
              body: {
                bands: [
                  {
                    bandUid: "P-1",
                    registrantName: name,
                    registrantEmail: email,
                    phone,
                    locale: "fr-CA",
                    consentEmail: "yes",
                    consentWording: "Les nouvelles du festival."
                  }
                ]
              }
            }),
            200
          )
          const listed = yield* ok(yield* call("GET", org(tenant, "/registrants?bandUid=P-1"), { key }), 200)
          const registrant = listed.body.items[0]
          expect(registrant).toMatchObject({ name, email, phone, locale: "fr-CA", source: "import" })
          yield* ok(
            yield* call("PATCH", org(tenant, `/bands/${registrant.bandId}`), {
              key,
              body: { registrantName: `${name} Jr` }
            }),
            200
          )
          yield* ok(
            yield* call("PATCH", org(tenant, `/registrants/${registrant.id}`), {
              key,
              body: { consents: [{ channel: "sms", granted: true, wording: "SMS le jour même." }] }
            }),
            200
          )
          const before = yield* aggregates(tenant, eventId)
          expect(before.counts).toEqual({ taps: 3, bands: 2, counted: 3 })

          const exported = yield* ok(
            yield* call("GET", org(tenant, `/registrants/${registrant.id}/export`), { key }),
            200
          )
          expect(exported.body.registrant).toMatchObject({ name: `${name} Jr`, email, phone })
          expect(exported.body.band).toMatchObject({ bandUid: "P-1", eventId, eventName: "Show" })
          expect(
            exported.body.consentHistory.map((c: { channel: string; source: string }) => [
              c.channel,
              c.source
            ])
          ).toEqual([
            ["email", "import"],
            ["sms", "api"]
          ])
          expect(exported.body.taps).toHaveLength(2)
          expect(exported.body.audit.map((e: { action: string }) => e.action)).toEqual(["registrant.update"])
          expect(JSON.stringify(exported.body.audit)).not.toContain(email)

          // The search finds the person where they are before the erasure (and nowhere else).
          expect(yield* searchEverything(email)).toEqual(["registrants.email"])
          expect(yield* searchEverything(phone)).toEqual(["registrants.phone"])

          // Where else a person's address can end up: a broker message refused into a dead letter, and a
          // journey message's last error (an SMTP server naming the recipient it refused).
          const sql = yield* SqlClient.SqlClient
          const refused = `{"data":{"registrant":{"email":"${email}","phone":"${phone}"}}}`
          const other = `{"data":{"registrant":{"email":"someone-else-${seed}@example.com"}}}`
          yield* sql`insert into registration_dead_letters (source_key, reason, body, body_bytes) values
            ('privacy', 'invalid', ${refused}, ${refused.length}), ('privacy', 'invalid', ${other}, ${other.length})`
          const journey = yield* ok(
            yield* call("POST", org(tenant, "/journeys"), {
              key,
              body: { eventId, name: "J", trigger: { _tag: "registration" }, subject: "s", body: "b" }
            }),
            201
          )
          yield* sql`insert into journey_messages (organization_id, journey_id, band_id, status, due_at, attempts,
              last_error, unsubscribe_token)
            values (${tenant.orgId}, ${journey.body.id}, ${registrant.bandId}, 'dead', now(), 3,
              ${`550 5.1.1 <${email}>: Recipient address rejected`}, ${`privacy-${seed}`})
            on conflict (journey_id, band_id) do update set last_error = excluded.last_error`
          expect((yield* searchEverything(email)).sort()).toEqual([
            "journey_messages.last_error",
            "registrants.email",
            "registration_dead_letters.body"
          ])

          // Only an OWNER erases.
          expect((yield* call("DELETE", org(tenant, `/registrants/${registrant.id}`), { key })).status).toBe(
            403
          )
          yield* ok(
            yield* call("DELETE", org(tenant, `/registrants/${registrant.id}`), { key: tenant.keys.OWNER }),
            204
          )
          expect((yield* call("GET", org(tenant, `/registrants/${registrant.id}`), { key })).status).toBe(404)
          const band = yield* ok(yield* call("GET", org(tenant, `/bands/${registrant.bandId}`), { key }), 200)
          expect([band.body.bandUid, band.body.registrantName ?? null, band.body.tapCount]).toEqual([
            "P-1",
            null,
            2
          ])

          for (const needle of [email, phone, phone.slice(1), name]) {
            expect(yield* searchEverything(needle), needle).toEqual([])
          }
          // Another person's dead letter stays for the operator.
          expect(yield* searchEverything(`someone-else-${seed}@example.com`)).toEqual([
            "registration_dead_letters.body"
          ])
          const audit = yield* call("GET", org(tenant, "/audit?limit=500"), { key: tenant.keys.OWNER })
          for (const needle of [email, phone, name]) expect(audit.text, needle).not.toContain(needle)

          const queued = yield* ok(
            yield* call("POST", org(tenant, "/exports"), { key: tenant.keys.OWNER, body: { kind: "audit" } }),
            202
          )
          let done = queued
          for (let i = 0; i < 300 && done.body.status !== "done"; i++) {
            yield* Effect.sleep("100 millis")
            done = yield* call("GET", org(tenant, `/exports/${queued.body.id}`), { key: tenant.keys.OWNER })
          }
          expect(done.body.status).toBe("done")
          const csv = yield* call("GET", org(tenant, `/exports/${queued.body.id}/download`), {
            key: tenant.keys.OWNER
          })
          expect(csv.text).toContain("registrant.erase")
          for (const needle of [email, phone, name]) expect(csv.text, needle).not.toContain(needle)

          const after = yield* aggregates(tenant, eventId)
          expect(after).toEqual(before)
        }).pipe(Effect.provide(TapStore.Default))
    )

    it.effect("the retention job erases registrants of events ended longer ago than the days kept", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const tenant = yield* createTenant(yield* bootstrapKey("registrants-retention@example.com"))
        const key = tenant.keys.EDITOR
        const old = yield* eventWith(tenant, { timezone: "UTC", bands: ["OLD-1"], name: "Old" })
        const recent = yield* eventWith(tenant, { timezone: "UTC", bands: ["NEW-1"], name: "Recent" })
        for (const [eventId, uid] of [
          [old.eventId, "OLD-1"],
          [recent.eventId, "NEW-1"]
        ] as const) {
          yield* ok(
            yield* call("POST", org(tenant, `/events/${eventId}/bands/import`), {
              key,
              body: { bands: [{ bandUid: uid, registrantName: `R ${uid}` }] }
            }),
            200
          )
        }
        yield* sql`update events set starts_at = now() - interval '402 days', ends_at = now() - interval '400 days'
        where id = ${old.eventId}`
        yield* sql`update events set starts_at = now() - interval '12 days', ends_at = now() - interval '10 days'
        where id = ${recent.eventId}`
        const erase = (days: number) =>
          eraseExpired(days).pipe(
            Effect.provide(Layer.merge(Registrants.Default, RegistrantRepository.Default)),
            Effect.provide(Changes.Default),
            Effect.provide(Audit.Default)
          )
        expect(yield* erase(0)).toBe(0)
        yield* erase(365)
        const names = yield* call("GET", org(tenant, "/registrants"), { key })
        expect(names.body.items.map((r: { name: string }) => r.name)).toEqual(["R NEW-1"])
        const audit = yield* call("GET", org(tenant, "/audit?action=registrant.erase"), {
          key: tenant.keys.OWNER
        })
        expect(audit.body.items.map((e: { newValues: { reason: string } }) => e.newValues.reason)).toEqual([
          "retention"
        ])
      })
    )
  }
)
