import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { checkPhone } from "../src/Registrants/Fields.js"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 33, registrants: created and changed through the API with a phone in E.164, a locale and consent
 * per channel (a history: the latest per channel is the state), listed with filters across pages, refused
 * with a 400 naming the field, invisible to another organisation and to a VIEWER, and never in clear in the
 * audit.
 */

const org = (tenant: Tenant, path = "") => `/api/v1/organizations/${tenant.orgId}${path}`

const eventWithBands = (tenant: Tenant, uids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const key = tenant.keys.EDITOR
    const event = yield* ok(yield* call("POST", org(tenant, "/events"), { key, body: { name: "R" } }), 201)
    yield* ok(
      yield* call("POST", org(tenant, `/events/${event.body.id}/bands/import`), {
        key,
        body: { bands: uids.map((bandUid) => ({ bandUid })) }
      }),
      200
    )
    const bands = yield* call("GET", org(tenant, `/bands?eventId=${event.body.id}&limit=500`), { key })
    const ids = new Map<string, string>(
      bands.body.items.map((b: { bandUid: string; id: string }) => [b.bandUid, b.id])
    )
    return { eventId: event.body.id as string, bandId: (uid: string) => ids.get(uid)! }
  })

describe("phone numbers", () => {
  const table: ReadonlyArray<readonly [string, string | null]> = [
    ["+44 7911 123456", "+447911123456"],
    ["+44 7700 900123", null],
    ["+1 (415) 555-2671", "+14155552671"],
    ["+33 6 12 34 56 78", "+33612345678"],
    ["+81 90-1234-5678", "+819012345678"],
    ["07700 900123", null],
    ["+44 12", null],
    ["+999 123456789", null],
    ["+٤٤٧٧٠٠٩٠٠١٢٣", null],
    ["+44 7700 900123\u0000", null],
    ["+44\n7700900123", null],
    ["téléphone", null],
    ["+", null],
    ["", null],
    ["+4".padEnd(1_000_000, "4"), null]
  ]
  for (const [input, stored] of table) {
    it(`${JSON.stringify(input.slice(0, 24))} → ${stored ?? "refused"}`, () => {
      const checked = checkPhone(input)
      if (stored === null) {
        expect(checked.ok).toBe(false)
        if (!checked.ok) expect(checked.reason.startsWith("phone: ")).toBe(true)
      } else expect(checked).toEqual({ ok: true, value: stored })
    })
  }
})

layer(adminHarness(), { excludeTestServices: true, timeout: 60_000 })("registrants (issue 33)", (it) => {
  it.effect("created, changed, listed and read; consent kept as a history; the audit holds no value", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("registrants-crud@example.com"))
      const key = tenant.keys.EDITOR
      const { bandId, eventId } = yield* eventWithBands(tenant, ["R-1", "R-2", "R-3"])
      const created = yield* ok(
        yield* call("POST", org(tenant, "/registrants"), {
          key,
          body: {
            bandId: bandId("R-1"),
            name: "Ada Lovelace",
            email: "ada@example.com",
            phone: "+44 7911 123456",
            locale: "en-gb",
            consents: [{ channel: "email", granted: true, wording: "News about the festival, by email." }]
          }
        }),
        201
      )
      expect(created.body).toMatchObject({
        bandUid: "R-1",
        eventId,
        name: "Ada Lovelace",
        phone: "+447911123456",
        locale: "en-GB",
        source: "api",
        consents: [
          { channel: "email", granted: true, source: "api", wording: "News about the festival, by email." }
        ]
      })
      const id = created.body.id as string
      // One registrant per band.
      expect(
        (yield* call("POST", org(tenant, "/registrants"), { key, body: { bandId: bandId("R-1") } })).status
      ).toBe(409)
      // The band shows its registrant as before, read through the join.
      const band = yield* call("GET", org(tenant, `/bands/${bandId("R-1")}`), { key })
      expect([band.body.registrantName, band.body.registrantEmail]).toEqual([
        "Ada Lovelace",
        "ada@example.com"
      ])

      const changed = yield* ok(
        yield* call("PATCH", org(tenant, `/registrants/${id}`), {
          key,
          body: {
            phone: null,
            email: "ada.l@example.com",
            consents: [
              { channel: "email", granted: false },
              { channel: "sms", granted: true, wording: "Texts on the day.", at: "2026-01-02T03:04:05.000Z" }
            ]
          }
        }),
        200
      )
      expect(changed.body.phone).toBeNull()
      expect(
        changed.body.consents.map((c: { channel: string; granted: boolean }) => [c.channel, c.granted])
      ).toEqual([
        ["email", false],
        ["sms", true]
      ])
      const exported = yield* ok(yield* call("GET", org(tenant, `/registrants/${id}/export`), { key }), 200)
      expect(exported.body.consentHistory.map((c: { granted: boolean }) => c.granted)).toEqual([
        true,
        false,
        true
      ])

      // A band PATCH writes the band's registrant (created when the band had none).
      yield* ok(
        yield* call("PATCH", org(tenant, `/bands/${bandId("R-2")}`), {
          key,
          body: { registrantName: "Grace Hopper", registrantEmail: "grace@example.com" }
        }),
        200
      )
      yield* ok(
        yield* call("POST", org(tenant, "/registrants"), {
          key,
          body: {
            bandId: bandId("R-3"),
            name: "Katherine",
            consents: [{ channel: "sms", granted: true, wording: "Texts." }]
          }
        }),
        201
      )

      const names = (query: string) =>
        Effect.map(call("GET", org(tenant, `/registrants?${query}`), { key }), (reply) => {
          expect(reply.status, reply.text).toBe(200)
          return reply.body.items.map((r: { name: string }) => r.name)
        })
      expect(yield* names("")).toEqual(["Katherine", "Grace Hopper", "Ada Lovelace"])
      expect(yield* names("q=HOPP")).toEqual(["Grace Hopper"])
      expect(yield* names("q=ada.l%40")).toEqual(["Ada Lovelace"])
      expect(yield* names("bandUid=R-3")).toEqual(["Katherine"])
      expect(yield* names("consent=sms")).toEqual(["Katherine", "Ada Lovelace"])
      expect(yield* names("consent=email")).toEqual([])
      expect(yield* names(`eventId=${eventId}&q=%25`)).toEqual([])
      // Cursor pagination: two pages of one and two.
      const first = yield* call("GET", org(tenant, "/registrants?limit=1"), { key })
      const second = yield* call("GET", org(tenant, `/registrants?limit=2&cursor=${first.body.nextCursor}`), {
        key
      })
      expect([...first.body.items, ...second.body.items].map((r: { name: string }) => r.name)).toEqual([
        "Katherine",
        "Grace Hopper",
        "Ada Lovelace"
      ])
      expect(second.body.nextCursor).toBeNull()

      // The audit names what changed, never a value.
      const audit = yield* call("GET", org(tenant, "/audit?limit=200"), { key: tenant.keys.OWNER })
      const text = JSON.stringify(audit.body)
      for (const personal of ["Ada", "ada@", "ada.l@", "447911123456", "Grace", "grace@", "Katherine"]) {
        expect(text, personal).not.toContain(personal)
      }
      const update = audit.body.items.find((e: { action: string }) => e.action === "registrant.update")
      expect(update.newValues).toMatchObject({ email: "changed", phone: "changed" })
      expect(update.newValues.name).toBeUndefined()
    })
  )

  it.effect("refused with a 400 naming the field; another organisation's and a VIEWER see nothing", () =>
    Effect.gen(function* () {
      const tenant = yield* createTenant(yield* bootstrapKey("registrants-refused@example.com"))
      const key = tenant.keys.EDITOR
      const { bandId } = yield* eventWithBands(tenant, ["X-1"])
      const post = (body: object) => call("POST", org(tenant, "/registrants"), { key, body })
      const cases: ReadonlyArray<readonly [object, string]> = [
        [{ phone: "07700 900123" }, "phone"],
        [{ phone: "+44 7700 900123\u0007" }, "phone"],
        [{ phone: "+٤٤٧٧٠٠٩٠٠١٢٣" }, "phone"],
        [{ phone: "9".repeat(1_000_000) }, "phone"],
        [{ name: "x".repeat(201) }, "name"],
        [{ email: "not an email" }, "email"],
        [{ locale: "english please" }, "locale"],
        [{ consents: [{ channel: "email", granted: true }] }, "wording"],
        [{ consents: [{ channel: "fax", granted: true, wording: "x" }] }, "channel"],
        [{ consents: [{ channel: "sms", granted: true, wording: "w".repeat(2001) }] }, "wording"]
      ]
      for (const [body, field] of cases) {
        const reply = yield* post({ bandId: bandId("X-1"), ...body })
        expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400)
        expect(reply.text.slice(0, 2000), field).toContain(field)
      }
      const created = yield* ok(yield* post({ bandId: bandId("X-1"), name: "Нина Иванова 李雷" }), 201)
      expect(created.body.name).toBe("Нина Иванова 李雷")
      const id = created.body.id as string

      const other = yield* createTenant(yield* bootstrapKey("registrants-other@example.com"))
      for (const [method, path] of [
        ["GET", `/registrants/${id}`],
        ["GET", `/registrants/${id}/export`],
        ["PATCH", `/registrants/${id}`],
        ["DELETE", `/registrants/${id}`]
      ] as const) {
        const reply = yield* call(method, org(other, path), {
          key: other.keys.OWNER,
          ...(method === "PATCH" ? { body: { name: "x" } } : {})
        })
        expect(reply.status, `${method} ${path}`).toBe(404)
      }
      expect((yield* call("GET", org(other, "/registrants"), { key: other.keys.OWNER })).body.items).toEqual(
        []
      )
      // Another organisation's band cannot be given a registrant here.
      expect(
        (yield* call("POST", org(other, "/registrants"), {
          key: other.keys.OWNER,
          body: { bandId: bandId("X-1") }
        })).status
      ).toBe(404)
      expect((yield* call("GET", org(tenant, "/registrants"), { key: tenant.keys.VIEWER })).status).toBe(403)
      expect((yield* call("DELETE", org(tenant, `/registrants/${id}`), { key })).status).toBe(403)
    })
  )
})
