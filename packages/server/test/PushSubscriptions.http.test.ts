import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { bootstrapKey, call, createTenant, ok, type Tenant } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 34 through the admin API: a registrant's push devices (an app's FCM or APNs token, a Web Push
 * subscription) added, listed, removed, validated with a 400, audited without the token, invisible to another
 * organisation (404) and to a VIEWER (403); the journeys' channel state; an SMS journey's length refused at save.
 */

const org = (tenant: Tenant, path = "") => `/api/v1/organizations/${tenant.orgId}${path}`

/** A registrant of a fresh event of the tenant. */
const registrant = (tenant: Tenant, uid: string) =>
  Effect.gen(function* () {
    const key = tenant.keys.EDITOR
    const event = yield* ok(yield* call("POST", org(tenant, "/events"), { key, body: { name: "P" } }), 201)
    yield* ok(
      yield* call("POST", org(tenant, `/events/${event.body.id}/bands/import`), {
        key,
        body: { bands: [{ bandUid: uid }] }
      }),
      200
    )
    const bands = yield* call("GET", org(tenant, `/bands?eventId=${event.body.id}`), { key })
    const created = yield* ok(
      yield* call("POST", org(tenant, "/registrants"), {
        key,
        body: { bandId: bands.body.items[0].id, name: "Ada", phone: "+447911123456" }
      }),
      201
    )
    return { id: created.body.id as string, eventId: event.body.id as string }
  })

const APNS = "a".repeat(64)
const WEBPUSH = {
  kind: "webpush",
  endpoint: "https://fcm.googleapis.com/fcm/send/abc:def",
  keys: {
    p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    auth: "tBHItJI5svbpez7KI4CCXg"
  }
}

layer(adminHarness({}), { excludeTestServices: true, timeout: 60_000 })(
  "push devices and channels (API)",
  (it) => {
    let a: Tenant
    let b: Tenant
    const tenants = Effect.gen(function* () {
      if (a !== undefined) return
      const admin = yield* bootstrapKey()
      a = yield* createTenant(admin)
      b = yield* createTenant(admin)
    })

    it.effect("added (idempotent), listed without keys, removed; each change audited without the token", () =>
      Effect.gen(function* () {
        yield* tenants
        const key = a.keys.EDITOR
        const person = yield* registrant(a, `PS-${process.pid}-1`)
        const devices = org(a, `/registrants/${person.id}/push-subscriptions`)
        const fcm = yield* ok(
          yield* call("POST", devices, { key, body: { kind: "fcm", token: "fcm:token-1234567" } }),
          201
        )
        expect(fcm.body).toMatchObject({
          kind: "fcm",
          address: "fcm:token-1234567",
          registrantId: person.id,
          lastSentAt: null
        })
        const again = yield* ok(
          yield* call("POST", devices, { key, body: { kind: "fcm", token: "fcm:token-1234567" } }),
          201
        )
        expect(again.body.id).toBe(fcm.body.id)
        yield* ok(yield* call("POST", devices, { key, body: { kind: "apns", token: APNS } }), 201)
        yield* ok(yield* call("POST", devices, { key, body: WEBPUSH }), 201)
        const listed = yield* ok(yield* call("GET", devices, { key }), 200)
        expect(listed.body.items.map((d: { kind: string }) => d.kind)).toEqual(["fcm", "apns", "webpush"])
        expect(listed.text).not.toContain(WEBPUSH.keys.auth)
        yield* ok(yield* call("DELETE", `${devices}/${fcm.body.id}`, { key }), 204)
        expect((yield* call("DELETE", `${devices}/${fcm.body.id}`, { key })).status).toBe(404)
        expect((yield* ok(yield* call("GET", devices, { key }), 200)).body.items).toHaveLength(2)
        const audit = yield* ok(
          yield* call("GET", org(a, `/audit?resourceType=registrant&resourceId=${person.id}&limit=50`), {
            key: a.keys.OWNER
          }),
          200
        )
        const actions = audit.body.items.map((e: { action: string }) => e.action)
        expect(actions).toEqual(
          expect.arrayContaining(["registrant.push_subscription.add", "registrant.push_subscription.delete"])
        )
        expect(audit.text).not.toContain("fcm:token-1234567")
        expect(audit.text).not.toContain(APNS)
      })
    )

    it.effect("refused with a 400: a bad kind, token, endpoint, key; never a 5xx", () =>
      Effect.gen(function* () {
        yield* tenants
        const key = a.keys.EDITOR
        const person = yield* registrant(a, `PS-${process.pid}-2`)
        const devices = org(a, `/registrants/${person.id}/push-subscriptions`)
        const bad: ReadonlyArray<unknown> = [
          { kind: "sms", token: "abcdefgh1234" },
          { kind: "fcm" },
          { kind: "fcm", token: "short" },
          { kind: "fcm", token: "has spaces in it" },
          { kind: "fcm", token: "x".repeat(5000) },
          { kind: "apns", token: "not-hex-at-all-".repeat(5) },
          { ...WEBPUSH, endpoint: "http://push.example/plain-http" },
          { ...WEBPUSH, endpoint: "javascript:alert(1)" },
          { ...WEBPUSH, keys: { p256dh: "has spaces", auth: "x" } },
          { kind: "webpush", endpoint: WEBPUSH.endpoint },
          []
        ]
        for (const body of bad) {
          const reply = yield* call("POST", devices, { key, body })
          expect({ body, status: reply.status }).toEqual({ body, status: 400 })
        }
        expect(
          (yield* call("POST", devices, { key, text: "{not json", contentType: "application/json" })).status
        ).toBe(400)
        expect((yield* ok(yield* call("GET", devices, { key }), 200)).body.items).toEqual([])
      })
    )

    it.effect("another organisation's registrant is not found (404); a VIEWER may not (403)", () =>
      Effect.gen(function* () {
        yield* tenants
        const person = yield* registrant(a, `PS-${process.pid}-3`)
        const device = yield* ok(
          yield* call("POST", org(a, `/registrants/${person.id}/push-subscriptions`), {
            key: a.keys.EDITOR,
            body: { kind: "fcm", token: "fcm-token-of-a-1" }
          }),
          201
        )
        const foreign = org(b, `/registrants/${person.id}/push-subscriptions`)
        expect((yield* call("GET", foreign, { key: b.keys.EDITOR })).status).toBe(404)
        expect(
          (yield* call("POST", foreign, {
            key: b.keys.OWNER,
            body: { kind: "fcm", token: "fcm-token-of-b-1" }
          })).status
        ).toBe(404)
        expect((yield* call("DELETE", `${foreign}/${device.body.id}`, { key: b.keys.OWNER })).status).toBe(
          404
        )
        const own = org(a, `/registrants/${person.id}/push-subscriptions`)
        expect((yield* call("GET", own, { key: a.keys.VIEWER })).status).toBe(403)
        expect(
          (yield* call("POST", own, { key: a.keys.VIEWER, body: { kind: "fcm", token: "fcm-token-viewer" } }))
            .status
        ).toBe(403)
        expect((yield* ok(yield* call("GET", own, { key: a.keys.EDITOR }), 200)).body.items).toHaveLength(1)
      })
    )

    it.effect(
      "channels: email by its provider, SMS and push not configured here; an SMS body too long is a 400",
      () =>
        Effect.gen(function* () {
          yield* tenants
          const channels = yield* ok(
            yield* call("GET", org(a, "/journeys/channels"), { key: a.keys.VIEWER }),
            200
          )
          expect(
            channels.body.channels.map((c: { channel: string; configured: boolean }) => [
              c.channel,
              c.configured
            ])
          ).toEqual([
            ["email", true],
            ["sms", false],
            ["push", false]
          ])
          const person = yield* registrant(a, `PS-${process.pid}-4`)
          const journey = (body: string) =>
            call("POST", org(a, "/journeys"), {
              key: a.keys.EDITOR,
              body: {
                eventId: person.eventId,
                name: "S",
                trigger: { _tag: "first_tap" },
                channel: "sms",
                subject: "S",
                body
              }
            })
          const tooLong = yield* journey(`${"x".repeat(1590)} {{unsubscribeUrl}}`)
          expect(tooLong.status).toBe(400)
          expect(tooLong.body.message).toContain("at most 1600")
          const fine = yield* ok(yield* journey("Doors open at {{event}}: {{windowUrl}}"), 201)
          expect(fine.body.channel).toBe("sms")
          // Longer by an edit: refused the same way, the journey unchanged.
          const edit = yield* call("PATCH", org(a, `/journeys/${fine.body.id}`), {
            key: a.keys.EDITOR,
            body: { body: "y".repeat(1601) }
          })
          expect(edit.status).toBe(400)
          // A test send is by email: an SMS journey's is refused, with the reason.
          const test = yield* call("POST", org(a, `/journeys/${fine.body.id}/test`), {
            key: a.keys.EDITOR,
            body: { to: "ada@example.com" }
          })
          expect(test.status).toBe(400)
        })
    )
  }
)
