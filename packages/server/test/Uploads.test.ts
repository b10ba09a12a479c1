import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { ObjectKey, Storage } from "../src/Storage/Storage.js"
import { UploadRepository } from "../src/Uploads/UploadRepository.js"
import { expireUploads } from "../src/Uploads/Uploads.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { startS3rver } from "./support/S3rver.js"

const s3 = await startS3rver()
afterAll(() => s3.close())

const put = (url: string, body: string | Uint8Array, contentType: string) =>
  Effect.promise(() => fetch(url, { method: "PUT", body, headers: { "content-type": contentType } }))

const suite = (provider: string, env: Record<string, string>) =>
  describe(`uploads: ${provider}`, () => {
    layer(UploadRepository.Default.pipe(Layer.provideMerge(adminHarness(env))), {
      excludeTestServices: true,
      timeout: "90 seconds"
    })((it) => {
      it.effect("a band import goes up by presigned PUT, imports by id, and is used up", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`uploads-${provider}@example.com`))
          const editor = tenant.keys.EDITOR
          const org = `/api/v1/organizations/${tenant.orgId}`
          const event = yield* call("POST", `${org}/events`, { key: editor, body: { name: "Upload fest" } })

          const ticket = yield* call("POST", `${org}/uploads`, {
            key: editor,
            body: { purpose: "band-import", contentType: "text/csv" }
          })
          expect(ticket.status).toBe(201)
          expect(ticket.body).toMatchObject({
            method: "PUT",
            contentType: "text/csv",
            maxBytes: 64 * 1024 * 1024
          })

          // Using it before anything is uploaded says so.
          const early = yield* call("POST", `${org}/events/${event.body.id}/bands/import-upload`, {
            key: editor,
            body: { uploadId: ticket.body.id }
          })
          expect(early.status).toBe(400)
          expect(early.body.message).toContain("nothing has been uploaded")

          // The link fixes the type: another one is refused.
          expect((yield* put(ticket.body.uploadUrl, "{}", "application/json")).status).toBe(403)

          const rows = [
            "band_uid,registrant_name,tags",
            "U-1,Ann,VIP",
            "U-2,Bo,",
            ",no id,",
            "U-3,Cy,VIP;Crew"
          ]
          expect((yield* put(ticket.body.uploadUrl, `${rows.join("\n")}\n`, "text/csv")).status).toBe(200)

          // Another organisation cannot use it, even knowing its id.
          const other = yield* createTenant(yield* bootstrapKey(`uploads-other-${provider}@example.com`))
          const otherEvent = yield* call("POST", `/api/v1/organizations/${other.orgId}/events`, {
            key: other.keys.EDITOR,
            body: { name: "Elsewhere" }
          })
          const stolen = yield* call(
            "POST",
            `/api/v1/organizations/${other.orgId}/events/${otherEvent.body.id}/bands/import-upload`,
            { key: other.keys.EDITOR, body: { uploadId: ticket.body.id } }
          )
          expect(stolen.status).toBe(404)

          const imported = yield* call("POST", `${org}/events/${event.body.id}/bands/import-upload`, {
            key: editor,
            body: { uploadId: ticket.body.id }
          })
          expect(imported.status).toBe(200)
          expect(imported.body).toMatchObject({ received: 4, created: 3, invalidCount: 1 })
          expect(imported.body.invalid[0].line).toBe(4)
          const bands = yield* call("GET", `${org}/bands?eventId=${event.body.id}`, { key: editor })
          expect(bands.body.items.map((band: { bandUid: string }) => band.bandUid).sort()).toEqual([
            "U-1",
            "U-2",
            "U-3"
          ])

          // Used up: the object and the ticket are gone.
          const again = yield* call("POST", `${org}/events/${event.body.id}/bands/import-upload`, {
            key: editor,
            body: { uploadId: ticket.body.id }
          })
          expect(again.status).toBe(404)
          const storage = yield* Storage
          const key = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${ticket.body.id}`)
          expect(yield* storage.head(key)).toEqual(Option.none())
        })
      )

      it.effect("uploads are checked for purpose, type, role and encoding", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`uploads-rules-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const event = yield* call("POST", `${org}/events`, {
            key: tenant.keys.EDITOR,
            body: { name: "Rules" }
          })
          const importPath = `${org}/events/${event.body.id}/bands/import-upload`

          const wrongType = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "band-import", contentType: "image/png" }
          })
          expect(wrongType.status).toBe(400)
          const viewer = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.VIEWER,
            body: { purpose: "band-import", contentType: "text/csv" }
          })
          expect(viewer.status).toBe(403)
          const logoByEditor = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "logo", contentType: "image/png" }
          })
          expect(logoByEditor.status).toBe(403)

          // A logo upload is not an import file.
          const logo = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.OWNER,
            body: { purpose: "logo", contentType: "image/png" }
          })
          expect(logo.status).toBe(201)
          expect(logo.body.maxBytes).toBe(512 * 1024)
          const misused = yield* call("POST", importPath, {
            key: tenant.keys.EDITOR,
            body: { uploadId: logo.body.id }
          })
          expect(misused.status).toBe(400)

          // Not UTF-8, bad JSON, JSON of the wrong shape: 400 with the reason, nothing imported.
          const cases: ReadonlyArray<[string, string | Uint8Array, string]> = [
            ["text/csv", new Uint8Array([0x62, 0x61, 0x6e, 0x64, 0xff, 0xfe, 0x0a]), "not UTF-8"],
            ["application/json", '{"bands": [', "not valid JSON"],
            ["application/json", '{"rows": []}', "is not"],
            ["application/json", "[".repeat(100_000), "not valid JSON"]
          ]
          for (const [contentType, body, reason] of cases) {
            const ticket = yield* call("POST", `${org}/uploads`, {
              key: tenant.keys.EDITOR,
              body: { purpose: "band-import", contentType }
            })
            const uploaded = yield* put(ticket.body.uploadUrl, body, contentType)
            expect({
              reason,
              status: uploaded.status,
              text: yield* Effect.promise(() => uploaded.text())
            }).toMatchObject({ reason, status: 200 })
            const refused = yield* call("POST", importPath, {
              key: tenant.keys.EDITOR,
              body: { uploadId: ticket.body.id }
            })
            expect({ reason, status: refused.status }).toEqual({ reason, status: 400 })
            expect(refused.body.message).toContain(reason)
          }
          const json = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "band-import", contentType: "application/json" }
          })
          yield* put(
            json.body.uploadUrl,
            JSON.stringify([{ bandUid: "J-1" }, { bandUid: "J-2" }]),
            "application/json"
          )
          const fromJson = yield* call("POST", importPath, {
            key: tenant.keys.EDITOR,
            body: { uploadId: json.body.id }
          })
          expect(fromJson.body).toMatchObject({ received: 2, created: 2 })
        })
      )

      it.effect("an unused upload is removed after its day by the expiry job", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`uploads-expiry-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const ticket = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "band-import", contentType: "text/csv" }
          })
          yield* put(ticket.body.uploadUrl, "band_uid\nX-1\n", "text/csv")
          const storage = yield* Storage
          const key = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${ticket.body.id}`)
          expect(Option.isSome(yield* storage.head(key))).toBe(true)

          const sql = yield* SqlClient.SqlClient
          yield* sql`update uploads set expires_at = now() - interval '1 minute' where id = ${ticket.body.id}`
          expect(yield* expireUploads).toBeGreaterThanOrEqual(1)
          expect(yield* storage.head(key)).toEqual(Option.none())
          const rows = yield* sql`select 1 from uploads where id = ${ticket.body.id}`
          expect(rows).toHaveLength(0)
        })
      )
    })
  })

suite("local folder", {})
suite("S3 (s3rver)", s3.env)
