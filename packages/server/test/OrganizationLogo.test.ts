import { randomBytes } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Effect, Option, Schema, Stream } from "effect"
import { hashSecret } from "../src/Crypto/Tokens.js"
import { ObjectKey, Storage } from "../src/Storage/Storage.js"
import { bootstrapKey, call, createTenant, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { startS3rver } from "./support/S3rver.js"

const s3 = await startS3rver()
afterAll(() => s3.close())

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64"
)

const put = (url: string, body: Uint8Array | string, contentType: string) =>
  Effect.promise(() => fetch(url, { method: "PUT", body, headers: { "content-type": contentType } }))

/** A logo upload with `body` already PUT; its id. */
const uploaded = (tenant: Tenant, body: Uint8Array | string, contentType = "image/png") =>
  Effect.gen(function* () {
    const ticket = yield* call("POST", `/api/v1/organizations/${tenant.orgId}/uploads`, {
      key: tenant.keys.OWNER,
      body: { purpose: "logo", contentType, size: Buffer.byteLength(body) }
    })
    expect(ticket.status).toBe(201)
    expect((yield* put(ticket.body.uploadUrl, body, contentType)).status).toBe(200)
    return ticket.body.id as string
  })

const suite = (provider: string, env: Record<string, string>) =>
  describe(`organisation logo: ${provider}`, () => {
    layer(adminHarness(env), { excludeTestServices: true, timeout: "90 seconds" })((it) => {
      it.effect(
        "an OWNER's uploaded PNG becomes the logo, served by Tapline and shown with invitations",
        () =>
          Effect.gen(function* () {
            const tenant = yield* createTenant(yield* bootstrapKey(`logo-${provider}@example.com`))
            const org = `/api/v1/organizations/${tenant.orgId}`
            const first = yield* uploaded(tenant, PNG)

            expect(
              (yield* call("PUT", `${org}/logo`, { key: tenant.keys.EDITOR, body: { uploadId: first } }))
                .status
            ).toBe(403)
            const set = yield* call("PUT", `${org}/logo`, {
              key: tenant.keys.OWNER,
              body: { uploadId: first }
            })
            expect(set.status).toBe(200)
            const logoUrl = new URL(set.body.branding.logoUrl)
            expect(logoUrl.pathname).toBe(`/logos/${tenant.orgId}/${first}.png`)

            const { url: server } = yield* AdminServer
            const image = yield* Effect.promise(() => fetch(`${server}${logoUrl.pathname}`))
            expect(image.status).toBe(200)
            expect(image.headers.get("content-type")).toBe("image/png")
            expect(image.headers.get("x-content-type-options")).toBe("nosniff")
            expect(image.headers.get("cache-control")).toContain("immutable")
            expect(Buffer.from(yield* Effect.promise(() => image.arrayBuffer()))).toEqual(PNG)

            // The invitation page shows it: the preview names the logo on Tapline's own origin.
            const sql = yield* SqlClient.SqlClient
            const token = `tli_${randomBytes(24).toString("base64url")}`
            yield* sql`
            insert into invitations (organization_id, email, role, token_hash, expires_at)
            values (${tenant.orgId}, ${"guest@example.com"}, 'VIEWER', ${hashSecret(token)}, now() + interval '1 day')`
            const preview = yield* call("GET", `/api/v1/invitations/${token}`)
            expect(preview.body.organizationLogoUrl).toBe(logoUrl.pathname)
            const page = yield* Effect.promise(() => fetch(`${server}/sign-in`).then((r) => r.text()))
            expect(page).toContain('id="invitation-logo"')

            // A second logo replaces the first, whose object goes.
            const second = yield* uploaded(tenant, PNG)
            const replaced = yield* call("PUT", `${org}/logo`, {
              key: tenant.keys.OWNER,
              body: { uploadId: second }
            })
            expect(new URL(replaced.body.branding.logoUrl).pathname).toBe(
              `/logos/${tenant.orgId}/${second}.png`
            )
            expect((yield* Effect.promise(() => fetch(`${server}${logoUrl.pathname}`))).status).toBe(404)
            const storage = yield* Storage
            const firstKey = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/logo/${first}.png`)
            expect(yield* storage.head(firstKey)).toEqual(Option.none())

            // Branding saved without a logo URL keeps the logo (it is set and removed through …/logo).
            const kept = yield* call("PATCH", org, {
              key: tenant.keys.OWNER,
              body: { branding: { primaryColor: "#112233" } }
            })
            expect(kept.body.branding).toEqual({
              primaryColor: "#112233",
              logoUrl: replaced.body.branding.logoUrl
            })
            const secondKey = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/logo/${second}.png`)
            expect(Option.isSome(yield* storage.head(secondKey))).toBe(true)

            // Removing it clears the branding's URL and the object; other branding stays.
            const removed = yield* call("DELETE", `${org}/logo`, { key: tenant.keys.OWNER })
            expect(removed.status).toBe(200)
            expect(removed.body.branding).toEqual({ primaryColor: "#112233" })
            expect((yield* call("GET", `/api/v1/invitations/${token}`)).body.organizationLogoUrl).toBeNull()
          })
      )

      it.effect("branding that replaces the hosted logo with another URL leaves no object behind", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`logo-swap-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const upload = yield* uploaded(tenant, PNG)
          yield* call("PUT", `${org}/logo`, { key: tenant.keys.OWNER, body: { uploadId: upload } })
          const storage = yield* Storage
          const key = Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/logo/${upload}.png`)
          expect(Option.isSome(yield* storage.head(key))).toBe(true)
          const swapped = yield* call("PATCH", org, {
            key: tenant.keys.OWNER,
            body: { branding: { logoUrl: "https://cdn.example/logo.png" } }
          })
          expect(swapped.body.branding).toEqual({ logoUrl: "https://cdn.example/logo.png" })
          expect(yield* storage.head(key)).toEqual(Option.none())
        })
      )

      it.effect("refuses what is not the declared image, too large, SVG, or another organisation's", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey(`logo-bad-${provider}@example.com`))
          const org = `/api/v1/organizations/${tenant.orgId}`
          const setLogo = (uploadId: string, key = tenant.keys.OWNER, path = org) =>
            call("PUT", `${path}/logo`, { key, body: { uploadId } })

          // HTML (or an SVG with a script) declared as PNG: the signature says otherwise.
          const html = yield* uploaded(tenant, "<svg onload=alert(1)></svg>")
          const fake = yield* setLogo(html)
          expect(fake.status).toBe(400)
          expect(fake.body.message).toContain("not a image/png image")
          // A real PNG declared as JPEG.
          const mislabelled = yield* uploaded(tenant, PNG, "image/jpeg")
          expect((yield* setLogo(mislabelled)).status).toBe(400)
          // Over 512 KB: no ticket is issued for it, and a small logo's ticket takes no more than granted.
          const large = Buffer.concat([PNG, randomBytes(600 * 1024)])
          const ticket = (size: number) =>
            call("POST", `${org}/uploads`, {
              key: tenant.keys.OWNER,
              body: { purpose: "logo", contentType: "image/png", size }
            })
          const refusedTicket = yield* ticket(large.length)
          expect(refusedTicket.status).toBe(400)
          expect(refusedTicket.body.message).toContain(`at most ${512 * 1024} bytes`)
          const small = yield* ticket(PNG.length)
          const smuggled = yield* put(small.body.uploadUrl, large, "image/png")
          expect(smuggled.status).toBe(provider === "local folder" ? 413 : 403)
          expect((yield* setLogo(small.body.id)).body.message).toContain("nothing has been uploaded")
          // Had storage taken it anyway, reading it back still counts.
          yield* (yield* Storage).put(
            Schema.decodeSync(ObjectKey)(`org/${tenant.orgId}/uploads/${small.body.id}`),
            Stream.make(large),
            { contentType: "image/png" }
          )
          const tooLarge = yield* setLogo(small.body.id)
          expect(tooLarge.status).toBe(400)
          expect(tooLarge.body.message).toContain("larger than")
          // SVG is not an upload type at all.
          const svg = yield* call("POST", `${org}/uploads`, {
            key: tenant.keys.OWNER,
            body: { purpose: "logo", contentType: "image/svg+xml" }
          })
          expect(svg.status).toBe(400)
          // Another organisation's upload is not found from here.
          const other = yield* createTenant(yield* bootstrapKey(`logo-other-${provider}@example.com`))
          const theirs = yield* uploaded(other, PNG)
          expect((yield* setLogo(theirs)).status).toBe(404)
          // Nothing was set.
          const after = yield* call("GET", org, { key: tenant.keys.OWNER })
          expect(after.body.branding.logoUrl).toBeUndefined()

          // Hostile logo paths find nothing.
          const { url: server } = yield* AdminServer
          for (const path of [
            `/logos/${tenant.orgId}/..%2F..%2Fexports%2Fx.csv`,
            `/logos/${tenant.orgId}/x.svg`,
            `/logos/not-an-org/x.png`,
            `/logos/${tenant.orgId}/%00.png`
          ]) {
            expect((yield* Effect.promise(() => fetch(`${server}${path}`))).status).toBe(404)
          }
        })
      )
    })
  })

suite("local folder", {})
suite("S3 (s3rver)", s3.env)
