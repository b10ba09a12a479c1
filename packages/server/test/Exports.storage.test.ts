import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { expireExports, objectKeyOf, runExport } from "../src/Exports/ExportJob.js"
import { ExportRepository } from "../src/Exports/ExportRepository.js"
import { Jobs } from "../src/Jobs/Jobs.js"
import { Mailer } from "../src/Mail/Mailer.js"
import { Storage } from "../src/Storage/Storage.js"
import { bootstrapKey, call, createTenant, type Reply } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { startS3rver } from "./support/S3rver.js"

const s3 = await startS3rver()
afterAll(() => s3.close())

/** Polls the export until the job has finished with it. */
const finished = (path: string, key: string) =>
  Effect.gen(function* () {
    let reply: Reply = yield* call("GET", path, { key })
    for (let i = 0; i < 200 && (reply.body.status === "queued" || reply.body.status === "running"); i++) {
      yield* Effect.sleep("100 millis")
      reply = yield* call("GET", path, { key })
    }
    return reply
  })

const suite = (provider: string, env: Record<string, string>) =>
  describe(`exports in storage: ${provider}`, () => {
    layer(ExportRepository.Default.pipe(Layer.provideMerge(adminHarness(env))), {
      excludeTestServices: true,
      timeout: "90 seconds"
    })((it) => {
      it.effect(
        "a stored request that no longer fits its schema fails its export with the reason, never runs",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const tenant = yield* createTenant(yield* bootstrapKey(`exports-bad-${provider}@example.com`))
            const [row] = yield* sql<{ id: string }>`
            insert into exports (organization_id, kind, params)
            values (${tenant.orgId}, 'taps', ${JSON.stringify({ kind: "taps", eventId: 42 })}::jsonb)
            returning id`
            const exit = yield* Effect.exit(runExport(row!.id).pipe(Effect.provide(Mailer.Default)))
            expect(exit._tag).toBe("Failure")
            const [after] = yield* sql<{ status: string; error: string }>`
            select status, error from exports where id = ${row!.id}`
            expect(after!.status).toBe("failed")
            expect(after!.error).toContain("eventId")
          })
      )

      it.effect(
        "an export streams into storage, downloads through a presigned link and expires after its days",
        () =>
          Effect.gen(function* () {
            const admin = yield* bootstrapKey(`exports-${provider}@example.com`)
            const tenant = yield* createTenant(admin)
            const owner = tenant.keys.OWNER
            const base = `/api/v1/organizations/${tenant.orgId}/exports`

            const queued = yield* call("POST", base, { key: owner, body: { kind: "audit" } })
            expect(queued.status).toBe(202)
            expect(queued.body).toMatchObject({ status: "queued", downloadUrl: null, expiresAt: null })
            const done = yield* finished(`${base}/${queued.body.id}`, owner)
            expect(done.body.status).toBe("done")
            expect(done.body.rows).toBeGreaterThan(0)

            // Kept seven days from when it finished.
            const keptMs = Date.parse(done.body.expiresAt) - Date.parse(done.body.finishedAt)
            expect(Math.round(keptMs / 3_600_000)).toBe(7 * 24)

            // The object is where the key says, under the organisation's prefix, with the bytes the API counted.
            const storage = yield* Storage
            const objectKey = objectKeyOf(tenant.orgId, queued.body.id)
            expect(objectKey.startsWith(`org/${tenant.orgId}/`)).toBe(true)
            const object = Option.getOrThrow(yield* storage.head(objectKey))
            expect(object.size).toBe(done.body.bytes)

            // The download answers 302 to the presigned link; following it gives the CSV.
            const { url: server } = yield* AdminServer
            const redirect = yield* Effect.promise(() =>
              fetch(`${server}${base}/${queued.body.id}/download`, {
                headers: { authorization: `Bearer ${owner}` },
                redirect: "manual"
              })
            )
            expect(redirect.status).toBe(302)
            expect(redirect.headers.get("location")).toMatch(
              provider === "local folder" ? /\/storage\/org\// : new RegExp(`^${s3.endpoint}/`)
            )
            const followed = yield* call("GET", `${base}/${queued.body.id}/download`, { key: owner })
            expect(followed.status).toBe(200)
            expect(followed.text.length).toBe(done.body.bytes)
            // Named for what it is and the day it was taken, not by an id.
            expect(followed.headers.get("content-disposition")).toMatch(
              /filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"/
            )
            const byLink = yield* Effect.promise(() => fetch(done.body.downloadUrl))
            expect(byLink.status).toBe(200)

            // A VIEWER may not read an audit export, by the API or by guessing its link.
            const viewer = yield* call("GET", `${base}/${queued.body.id}/download`, {
              key: tenant.keys.VIEWER
            })
            expect(viewer.status).toBe(403)
            const other = yield* createTenant(admin)
            const foreign = yield* call(
              "GET",
              `/api/v1/organizations/${other.orgId}/exports/${queued.body.id}`,
              {
                key: other.keys.OWNER
              }
            )
            expect(foreign.status).toBe(404)

            // Past its expiry the expiry job removes the object and says so on the export.
            const sql = yield* SqlClient.SqlClient
            yield* sql`update exports set expires_at = now() - interval '1 minute' where id = ${queued.body.id}`
            expect(yield* expireExports).toBeGreaterThanOrEqual(1)
            expect(yield* storage.head(objectKey)).toEqual(Option.none())
            const expired = yield* call("GET", `${base}/${queued.body.id}`, { key: owner })
            expect(expired.body).toMatchObject({ status: "expired", downloadUrl: null })
            const gone = yield* call("GET", `${base}/${queued.body.id}/download`, { key: owner })
            expect(gone.status).toBe(409)
            // The link handed out before stops working with the object.
            expect((yield* Effect.promise(() => fetch(done.body.downloadUrl))).status).toBeGreaterThanOrEqual(
              400
            )
            // A second run finds nothing left to do.
            expect(yield* expireExports).toBe(0)

            // The expiry runs on its own, hourly.
            const jobs = yield* Jobs
            const schedules = yield* jobs.schedules
            expect(schedules).toContainEqual({ queue: "exports.expire", cron: "23 * * * *" })
          })
      )

      it.effect(
        "a large export pages through the taps without losing or repeating one, ties on time included",
        () =>
          Effect.gen(function* () {
            const tenant = yield* createTenant(yield* bootstrapKey(`exports-pages-${provider}@example.com`))
            const owner = tenant.keys.OWNER
            const org = `/api/v1/organizations/${tenant.orgId}`
            const event = yield* call("POST", `${org}/events`, { key: owner, body: { name: "Many taps" } })
            const sql = yield* SqlClient.SqlClient
            // 12 345 taps on three instants (microseconds apart): every page boundary falls inside a tie.
            const total = 12_345
            yield* sql`
            insert into taps (id, organization_id, event_id, band_uid, redirect_kind, destination_url, tapped_at)
            select gen_random_uuid(), ${tenant.orgId}, ${event.body.id}, 'B-' || n, 'DEFAULT', 'https://d.example/',
              timestamptz '2026-11-30 12:00:00.000001+00' + (n % 3) * interval '1 microsecond'
            from generate_series(1, ${total}) n`
            const queued = yield* call("POST", `${org}/exports`, {
              key: owner,
              body: { kind: "taps", eventId: event.body.id }
            })
            const done = yield* finished(`${org}/exports/${queued.body.id}`, owner)
            expect(done.body).toMatchObject({ status: "done", rows: total })
            const text = yield* Effect.promise(() => fetch(done.body.downloadUrl).then((r) => r.text()))
            const ids = text
              .trim()
              .split("\n")
              .slice(1)
              .map((line) => line.split(",")[0])
            expect(ids).toHaveLength(total)
            expect(new Set(ids).size).toBe(total)
            // The synchronous download pages the same way.
            const direct = yield* call("GET", `${org}/analytics/events/${event.body.id}/taps.csv`, {
              key: owner
            })
            expect(direct.text).toBe(text)
          })
      )
    })
  })

suite("local folder", {})
suite("S3 (s3rver)", s3.env)
