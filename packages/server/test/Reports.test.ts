import { execFileSync } from "node:child_process"
import { generateKeyPairSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { v7 as uuidv7 } from "uuid"
import * as ReportKeys from "../src/Reports/ReportKeys.js"
import { trustedKeys, verifySigned } from "../src/Reports/ReportSignature.js"
import { bootstrapKey, call, createTenant, liveEvent, ok } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * Signed sponsor reports (issue 35, item 4) on a real database: figures from seeded taps (bots and repeats
 * apart), the signature against the published keys (any edited figure breaks it; a retired key still
 * verifies), the stored JSON and PDF, and who may do what.
 */

const pem = () => String(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }))
const ACTIVE = pem()
const RETIRED = pem()
const HOUR = 3_600_000

/** Every path to a number in a JSON value. */
const numericLeaves = (
  value: unknown,
  path: ReadonlyArray<string | number> = []
): Array<Array<string | number>> => {
  if (typeof value === "number") return [[...path]]
  if (Array.isArray(value)) return value.flatMap((item, i) => numericLeaves(item, [...path, i]))
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => numericLeaves(item, [...path, key]))
  }
  return []
}

const edited = (document: unknown, path: ReadonlyArray<string | number>) => {
  const copy = structuredClone(document) as Record<string | number, unknown>
  let at = copy as Record<string | number, unknown>
  for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  at[last] = (at[last] as number) + 1
  return copy
}

layer(adminHarness({ REPORT_SIGNING_KEY: `${ACTIVE}\n${RETIRED}`, JOBS_ENABLED: "false" }), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("signed sponsor reports", (it) => {
  it.effect(
    "a report counts people's taps once, is signed, stored as JSON and PDF, and verifies only unchanged",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { url: server } = yield* AdminServer
        const admin = yield* bootstrapKey("reports@example.com")
        const tenant = yield* createTenant(admin)
        const org = `/api/v1/organizations/${tenant.orgId}`
        const editor = tenant.keys.EDITOR
        const show = yield* liveEvent(tenant, ["R-1", "R-2", "R-3", "R-4"], "Sponsor show")
        const bandList = yield* ok(
          yield* call("GET", `${org}/bands?eventId=${show.eventId}`, { key: editor }),
          200
        )
        const band = Object.fromEntries(
          (bandList.body.items as Array<{ id: string; bandUid: string }>).map((b) => [b.bandUid, b.id])
        ) as Record<string, string>
        const tag = yield* ok(yield* call("POST", `${org}/tags`, { key: editor, body: { name: "VIP" } }), 201)
        for (const uid of ["R-1", "R-2", "R-3"]) {
          yield* ok(
            yield* call("PUT", `${org}/bands/${band[uid]}/tags`, {
              key: editor,
              body: { tagIds: [tag.body.id] }
            }),
            200
          )
        }

        // Taps as the writer stores them, flags included.
        const now = Date.now()
        const tap = (
          uid: string,
          minutesAgo: number,
          flags: { bot?: boolean; duplicate?: boolean; window?: boolean } = {}
        ) =>
          sql`insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
            destination_url, tapped_at, is_bot, is_duplicate)
          values (${uuidv7()}, ${tenant.orgId}, ${show.eventId}, ${band[uid]!}, ${uid},
            ${flags.window === false ? null : show.windowId}, 'LIVE', 'WINDOW', 'https://example.com/live',
            ${new Date(now - minutesAgo * 60_000)}, ${flags.bot ?? false}, ${flags.duplicate ?? false})`
        yield* tap("R-1", 30)
        yield* tap("R-1", 29, { duplicate: true }) // a repeat within the interval: counted once
        yield* tap("R-1", 10)
        yield* tap("R-2", 20)
        yield* tap("R-2", 19, { bot: true })
        yield* tap("R-2", 18, { bot: true })
        yield* tap("R-3", 5, { bot: true }) // a band tapped only by a bot is no unique band
        yield* tap("R-4", 15) // not in the VIP tag
        yield* tap("R-4", 14)
        yield* tap("R-2", 12, { window: false }) // outside the selected window
        yield* tap("R-1", 75) // before the range

        const created = yield* ok(
          yield* call("POST", `${org}/activations`, {
            key: editor,
            body: {
              name: "VIP lounge",
              bandIds: [band["R-1"], band["R-2"], band["R-3"]],
              tagIds: [tag.body.id],
              windowIds: [show.windowId],
              startsAt: new Date(now - HOUR).toISOString(),
              endsAt: new Date(now + HOUR).toISOString()
            }
          }),
          201
        )
        const activation = `${org}/activations/${created.body.id}`
        yield* ok(
          yield* call("PATCH", activation, { key: editor, body: { name: "VIP lounge, Saturday" } }),
          200
        )

        // A VIEWER reads but does not issue; another organisation does not see the activation at all.
        expect((yield* call("POST", `${activation}/reports`, { key: tenant.keys.VIEWER })).status).toBe(403)
        expect((yield* call("GET", activation, { key: tenant.keys.VIEWER })).status).toBe(200)
        const other = yield* createTenant(admin)
        const foreign = `/api/v1/organizations/${other.orgId}/activations/${created.body.id}`
        expect((yield* call("GET", foreign, { key: other.keys.OWNER })).status).toBe(404)
        expect((yield* call("POST", `${foreign}/reports`, { key: other.keys.OWNER })).status).toBe(404)
        // Selecting another organisation's band is refused, as a 400.
        const stolen = yield* call("POST", `/api/v1/organizations/${other.orgId}/activations`, {
          key: other.keys.EDITOR,
          body: {
            name: "x",
            bandIds: [band["R-1"]],
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + HOUR).toISOString()
          }
        })
        expect(stolen.status).toBe(400)

        const issued = yield* ok(yield* call("POST", `${activation}/reports`, { key: editor }), 201)
        const signed = issued.body.signed
        const report = signed.report
        console.log(`signed report:\n${JSON.stringify(signed, null, 2)}`)
        expect(report.figures).toEqual({
          taps: 3,
          uniqueBands: 2,
          excluded: { botTaps: 3, duplicateTaps: 1 },
          windows: [
            {
              windowId: show.windowId,
              eventId: show.eventId,
              type: "LIVE",
              title: expect.any(String),
              taps: 3,
              uniqueBands: 2
            }
          ],
          tags: [{ tagId: tag.body.id, name: "VIP", taps: 3, uniqueBands: 2 }],
          bands: [
            { bandId: band["R-1"], bandUid: "R-1", taps: 2 },
            { bandId: band["R-2"], bandUid: "R-2", taps: 1 },
            { bandId: band["R-3"], bandUid: "R-3", taps: 0 }
          ]
        })
        expect(report.range).toEqual({
          from: new Date(now - HOUR).toISOString(),
          to: new Date(now + HOUR).toISOString()
        })
        expect(report.authenticity).toBeNull()
        // The audit trail: created, then renamed, by the EDITOR's key.
        expect(
          report.auditTrail.map((e: { action: string; changed: Array<string> }) => [e.action, e.changed])
        ).toEqual([
          ["activation.create", ["bandIds", "endsAt", "name", "startsAt", "tagIds", "windowIds"]],
          ["activation.update", ["name"]]
        ])
        expect(report.auditTrail[1].actor.type).toBe("api_key")

        // The published keys: both, the first active; the report verifies against them.
        const wellKnown = yield* Effect.promise(() => fetch(`${server}/.well-known/tapline/report-keys.json`))
        expect(wellKnown.headers.get("cache-control")).toBe("public, max-age=3600")
        const keysText = yield* Effect.promise(() => wellKnown.text())
        const published = JSON.parse(keysText) as {
          keys: Array<{ keyId: string; status: string; publicKey: string }>
        }
        const active = ReportKeys.make(Either.getOrThrow(ReportKeys.parseKeys(ACTIVE)))
        const retired = ReportKeys.make(Either.getOrThrow(ReportKeys.parseKeys(RETIRED)))
        expect(published.keys.map((k) => [k.keyId, k.status])).toEqual([
          [active.active.keyId, "active"],
          [retired.active.keyId, "retired"]
        ])
        expect(keysText).not.toContain("PRIVATE")
        expect(signed.keyId).toBe(active.active.keyId)
        const keys = trustedKeys(keysText)
        expect(verifySigned(signed, keys)).toEqual({ valid: true, keyId: signed.keyId })

        // Any figure changed, anywhere in the report, breaks the signature.
        const leaves = numericLeaves(report)
        expect(leaves.length).toBe(11)
        for (const path of leaves) {
          const verdict = verifySigned({ ...signed, report: edited(report, path) }, keys)
          expect(verdict.valid, `editing report.${path.join(".")}`).toBe(false)
        }
        expect(
          verifySigned(
            { ...signed, report: { ...report, activation: { ...report.activation, name: "Other" } } },
            keys
          ).valid
        ).toBe(false)

        // A report signed by the key now retired (before the rotation) still verifies with the published keys.
        const old = { report, ...retired.sign(report) }
        expect(verifySigned(old, keys)).toEqual({ valid: true, keyId: retired.active.keyId })

        // The JSON file in storage is the signed document; the PDF prints the figures and the key id.
        const json = yield* ok(
          yield* call("GET", `${org}/reports/${issued.body.id}/json`, { key: tenant.keys.VIEWER }),
          200
        )
        expect(json.body).toEqual(signed)
        expect(verifySigned(JSON.parse(json.text), keys).valid).toBe(true)
        const pdf = yield* Effect.promise(async () => {
          const response = await fetch(`${server}${org}/reports/${issued.body.id}/pdf`, {
            headers: { authorization: `Bearer ${tenant.keys.VIEWER}` }
          })
          return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) }
        })
        expect(pdf.status).toBe(200)
        expect(pdf.bytes.subarray(0, 5).toString()).toBe("%PDF-")
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-report-"))
        const file = Path.join(dir, "report.pdf")
        Fs.writeFileSync(file, pdf.bytes)
        const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" })
        Fs.rmSync(dir, { recursive: true, force: true })
        expect(text).toContain(signed.keyId)
        expect(text).toMatch(/Taps: 3\b/)
        expect(text).toMatch(/Unique bands: 2\b/)
        expect(text).toMatch(/Excluded bot taps: 3\b/)
        expect(text).toMatch(/Excluded duplicate taps: 1\b/)
        expect(text).toContain("VIP: taps 3, unique bands 2")
        expect(text).toContain("R-1: taps 2")
        expect(text).toContain("activation.update (name)")
        expect(text).toContain(report.range.from)

        // Kept as issued: listed under the activation; the row cannot be changed.
        const listed = yield* ok(
          yield* call("GET", `${activation}/reports`, { key: tenant.keys.VIEWER }),
          200
        )
        expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([issued.body.id])
        const changed = yield* Effect.either(
          sql`update reports set key_id = '0000000000000000' where id = ${issued.body.id}`
        )
        expect(changed._tag).toBe("Left")
        // Another organisation cannot read it.
        expect(
          (yield* call("GET", `/api/v1/organizations/${other.orgId}/reports/${issued.body.id}`, {
            key: other.keys.OWNER
          })).status
        ).toBe(404)
      })
  )
})
