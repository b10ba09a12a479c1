import { randomBytes, randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema, Stream } from "effect"
import * as LocalStorage from "../src/Storage/LocalStorage.js"
import { ObjectKey, organizationKey, Storage } from "../src/Storage/Storage.js"
import { UploadRepository } from "../src/Uploads/UploadRepository.js"
import { expireUploads, sweepUploads } from "../src/Uploads/Uploads.js"
import { bootstrapKey, call, createTenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { type S3Peer, startS3rver } from "./support/S3rver.js"

const s3peer = await startS3rver()
afterAll(() => s3peer.close())

/** Enough for every test's tickets in one organisation within a minute; the quota test goes past it. */
const TICKETS_PER_MINUTE = 12

/** The 8-byte PNG signature. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** What is left in the local folder's drafts (half-written uploads). */
const drafts = Effect.map(LocalStorage.config, (config) =>
  Fs.readdirSync(Path.join(Option.getOrThrow(config.localDir), "drafts"))
)

const put = (url: string, body: string | Uint8Array, contentType: string) =>
  Effect.promise(() => fetch(url, { method: "PUT", body, headers: { "content-type": contentType } }))

const suite = (provider: string, env: Record<string, string>, s3?: S3Peer) =>
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

          const rows = [
            "band_uid,registrant_name,tags",
            "U-1,Ann,VIP",
            "U-2,Bo,",
            ",no id,",
            "U-3,Cy,VIP;Crew"
          ]
          const csv = `${rows.join("\n")}\n`
          const ticket = yield* call("POST", `${org}/uploads`, {
            key: editor,
            body: { purpose: "band-import", contentType: "text/csv", size: csv.length }
          })
          expect(ticket.status).toBe(201)
          expect(ticket.body).toMatchObject({
            method: "PUT",
            contentType: "text/csv",
            size: csv.length,
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
          expect((yield* put(ticket.body.uploadUrl, csv, "application/json")).status).toBe(403)
          expect((yield* put(ticket.body.uploadUrl, csv, "text/csv")).status).toBe(200)

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
            body: { purpose: "band-import", contentType: "image/png", size: 10 }
          })
          expect(wrongType.status).toBe(400)
          const viewer = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.VIEWER,
            body: { purpose: "band-import", contentType: "text/csv", size: 10 }
          })
          expect(viewer.status).toBe(403)
          const logoByEditor = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "logo", contentType: "image/png", size: 10 }
          })
          expect(logoByEditor.status).toBe(403)

          // A logo upload is not an import file.
          const logo = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.OWNER,
            body: { purpose: "logo", contentType: "image/png", size: 10 }
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
              body: { purpose: "band-import", contentType, size: Buffer.byteLength(body) }
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
          const bands = JSON.stringify([{ bandUid: "J-1" }, { bandUid: "J-2" }])
          const json = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.EDITOR,
            body: { purpose: "band-import", contentType: "application/json", size: bands.length }
          })
          yield* put(json.body.uploadUrl, bands, "application/json")
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
            body: { purpose: "band-import", contentType: "text/csv", size: 13 }
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

      it.effect("storage takes the granted size only, exactly, and of the ticket's type", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`uploads-size-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const storage = yield* Storage
          const logo = Buffer.concat([PNG_SIGNATURE, randomBytes(1_000)])
          const ticket = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.OWNER,
            body: { purpose: "logo", contentType: "image/png", size: logo.length }
          })
          expect(ticket.status).toBe(201)
          expect(ticket.body.size).toBe(logo.length)
          const key = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${ticket.body.id}`)

          // The case: a 512 KB logo ticket took 100 MB. Larger than granted, by a lot or by one byte.
          // S3 refuses the signed Content-Length (403); Tapline's own links answer 413.
          const tooLarge = s3 === undefined ? 413 : 403
          for (const body of [
            Buffer.concat([logo, randomBytes(600 * 1024)]),
            Buffer.concat([logo, PNG_SIGNATURE.subarray(0, 1)])
          ]) {
            const refused = yield* put(ticket.body.uploadUrl, body, "image/png")
            expect({ bytes: body.length, status: refused.status }).toEqual({
              bytes: body.length,
              status: tooLarge
            })
            expect(yield* storage.head(key)).toEqual(Option.none())
          }
          if (s3 === undefined) expect(yield* drafts).toEqual([])
          // A wrong or missing type: 403, nothing stored.
          expect((yield* put(ticket.body.uploadUrl, logo, "image/jpeg")).status).toBe(403)
          const untyped = yield* Effect.promise(() =>
            fetch(ticket.body.uploadUrl, { method: "PUT", body: new Blob([logo]) })
          )
          expect(untyped.status).toBe(403)
          expect(yield* storage.head(key)).toEqual(Option.none())
          // A size past the purpose's limit gets no ticket at all.
          const oversized = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.OWNER,
            body: { purpose: "logo", contentType: "image/png", size: 512 * 1024 + 1 }
          })
          expect(oversized.status).toBe(400)

          // Exactly the granted size is stored.
          expect((yield* put(ticket.body.uploadUrl, logo, "image/png")).status).toBe(200)
          const stored = yield* storage.head(key)
          expect(Option.map(stored, (object) => object.size)).toEqual(Option.some(logo.length))
        })
      )

      it.effect("a used ticket's link writes nothing that stays: refused by Tapline, swept from S3", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`uploads-once-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const storage = yield* Storage
          const event = yield* call("POST", `${org}/events`, {
            key: tenant.keys.EDITOR,
            body: { name: "Once" }
          })
          const csv = "band_uid\nO-1\n"
          const ticketFor = (body: string) =>
            Effect.map(
              call("POST", `${org}/uploads`, {
                key: tenant.keys.EDITOR,
                body: { purpose: "band-import", contentType: "text/csv", size: body.length }
              }),
              (reply) => ({ id: reply.body.id as string, url: reply.body.uploadUrl as string })
            )
          const keyOf = (id: string) => Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${id}`)

          const used = yield* ticketFor(csv)
          expect((yield* put(used.url, csv, "text/csv")).status).toBe(200)
          const imported = yield* call("POST", `${org}/events/${event.body.id}/bands/import-upload`, {
            key: tenant.keys.EDITOR,
            body: { uploadId: used.id }
          })
          expect(imported.status).toBe(200)

          // The same link again. Tapline refuses it; a presigned S3 URL cannot be revoked before it expires.
          const again = yield* put(used.url, csv, "text/csv")
          expect(again.status).toBe(s3 === undefined ? 403 : 200)
          if (s3 === undefined) {
            expect(yield* storage.head(keyOf(used.id))).toEqual(Option.none())
            // As if it had got through: the sweep must remove it all the same.
            yield* storage.put(keyOf(used.id), Stream.make(new TextEncoder().encode(csv)), {
              contentType: "text/csv"
            })
          }

          // A ticket still in use keeps its object; a stray object under uploads/ and the used ticket's go.
          const live = yield* ticketFor(csv)
          expect((yield* put(live.url, csv, "text/csv")).status).toBe(200)
          const stray = keyOf(randomUUID())
          yield* storage.put(stray, Stream.make(new TextEncoder().encode("x")), { contentType: "text/csv" })
          const other = organizationKey(tenant.orgId, "exports", "kept.csv")
          yield* storage.put(other, Stream.make(new TextEncoder().encode("x")), { contentType: "text/csv" })

          // Within the grace period nothing goes.
          yield* sweepUploads({ graceSeconds: 3600 })
          for (const key of [keyOf(used.id), stray, keyOf(live.id), other]) {
            expect({ key, kept: Option.isSome(yield* storage.head(key)) }).toEqual({ key, kept: true })
          }
          expect(yield* sweepUploads({ graceSeconds: 0 })).toBeGreaterThanOrEqual(2)
          expect(yield* storage.head(keyOf(used.id))).toEqual(Option.none())
          expect(yield* storage.head(stray)).toEqual(Option.none())
          expect(Option.isSome(yield* storage.head(keyOf(live.id)))).toBe(true)
          expect(Option.isSome(yield* storage.head(other))).toBe(true)
        })
      )

      it.effect("upload tickets are counted per organisation: 429 with Retry-After for one only", () =>
        Effect.gen(function* () {
          const flooder = yield* createTenant(yield* bootstrapKey(`uploads-flood-${provider}@example.com`))
          const victim = yield* createTenant(yield* bootstrapKey(`uploads-victim-${provider}@example.com`))
          const ask = (tenant: typeof flooder) =>
            call("POST", `/api/v1/organizations/${tenant.orgId}/uploads`, {
              key: tenant.keys.EDITOR,
              body: { purpose: "band-import", contentType: "text/csv", size: 10 }
            })
          for (let i = 0; i < TICKETS_PER_MINUTE; i++) expect((yield* ask(flooder)).status).toBe(201)
          const refused = yield* ask(flooder)
          expect(refused.status).toBe(429)
          const retryAfter = Number(refused.headers.get("retry-after"))
          expect(retryAfter).toBeGreaterThanOrEqual(1)
          expect(retryAfter).toBeLessThanOrEqual(60)
          expect((yield* ask(victim)).status).toBe(201)
        })
      )

      if (s3 === undefined) {
        it.effect("Tapline's link stops reading past the grant: 413 while the upload is still open", () =>
          Effect.gen(function* () {
            const tenant = yield* createTenant(yield* bootstrapKey(`uploads-stream-${provider}@example.com`))
            const ticket = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/uploads`, {
              key: tenant.keys.EDITOR,
              body: { purpose: "band-import", contentType: "text/csv", size: 1_000 }
            })
            // Chunked, no Content-Length to judge by: 1 001 bytes sent, and the body never ends.
            const status = yield* Effect.promise(
              () =>
                new Promise<number | "no answer">((resolve) => {
                  const request = Http.request(ticket.body.uploadUrl, {
                    method: "PUT",
                    headers: { "content-type": "text/csv" }
                  })
                  const deadline = setTimeout(() => {
                    request.destroy()
                    resolve("no answer")
                  }, 20_000)
                  request.on("response", (response) => {
                    clearTimeout(deadline)
                    response.resume()
                    request.destroy()
                    resolve(response.statusCode ?? 0)
                  })
                  request.on("error", () => undefined)
                  request.write("a".repeat(600))
                  request.write("b".repeat(401))
                })
            )
            expect(status).toBe(413)
            const storage = yield* Storage
            const key = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${ticket.body.id}`)
            expect(yield* storage.head(key)).toEqual(Option.none())
            expect(yield* drafts).toEqual([])
          })
        )
      }
    })
  })

suite("local folder", { QUOTA_UPLOAD_TICKETS_PER_MINUTE: String(TICKETS_PER_MINUTE) })
suite("S3 (s3rver)", { ...s3peer.env, QUOTA_UPLOAD_TICKETS_PER_MINUTE: String(TICKETS_PER_MINUTE) }, s3peer)
