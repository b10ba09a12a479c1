import { HttpApi } from "@effect/platform"
import { describe, expect, it, layer } from "@effect/vitest"
import { TaplineApi } from "@tapline/domain"
import { Effect, Layer, Schedule } from "effect"
import {
  bootstrapKey,
  type CallOptions,
  call,
  createTenant,
  ok,
  type Reply,
  type Tenant
} from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { startAiPeer } from "./support/AiPeers.js"

/*
 * Every admin endpoint × every kind of caller. A caller without credentials gets 401, a member of another
 * organisation 404 (it must not learn the resource exists), a role below the endpoint's minimum 403, and
 * everyone else the endpoint's success status. Each cell gets fresh resources, so a DELETE that succeeds
 * for one caller does not change what the next one sees. An endpoint may appear more than once (a variant,
 * such as an export of the OWNER-only audit log); `shows` then checks that a successful answer holds nothing
 * the caller's role may not read through another route.
 */

type Caller = "none" | "other" | "VIEWER" | "EDITOR" | "OWNER" | "ADMIN"
const callers: ReadonlyArray<Caller> = ["none", "other", "VIEWER", "EDITOR", "OWNER", "ADMIN"]
type Minimum = "VIEWER" | "EDITOR" | "OWNER" | "ADMIN"
const rank: Record<Caller, number> = { none: -1, other: 0, VIEWER: 1, EDITOR: 2, OWNER: 3, ADMIN: 4 }

interface Prepared extends CallOptions {
  readonly path: string
  /** The tenant whose keys the callers use, when the spec made a fresh one (organisation update/delete). */
  readonly tenant?: Tenant
  /** The resource the spec made, for `shows`. */
  readonly id?: string
}

interface Ctx {
  readonly admin: string
  readonly tenant: Tenant
}

interface Spec {
  readonly name: string
  readonly method: string
  readonly min: Minimum
  readonly success: number
  readonly prepare: (ctx: Ctx) => Effect.Effect<Prepared, never, AdminServer>
  /** Overrides for callers whose answer is not the generic rule (endpoints outside one organisation). */
  readonly expected?: Partial<Record<Caller, number>>
  readonly stream?: boolean
  /** What a successful answer reveals that it must not (a description), else undefined. */
  readonly shows?: (caller: Caller, reply: Reply, prepared: Prepared) => string | undefined
  /** A GET whose answer changes what it reads (a one-time link): each caller then gets a resource of its own. */
  readonly freshPerCaller?: boolean
}

const hour = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
let counter = 0
const unique = () => `${Date.now().toString(36)}${++counter}`

// Fixtures, created by the platform ADMIN through the API itself.
const post = (ctx: Ctx, path: string, body: unknown) =>
  call("POST", path, { key: ctx.admin, body }).pipe(Effect.flatMap((r) => ok(r, 201, `POST ${path}`)))
const org = (ctx: Ctx) => `/api/v1/organizations/${ctx.tenant.orgId}`
const newEvent = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/events`, { name: `E ${unique()}` }), (r) => r.body.id as string)
const newWindow = (ctx: Ctx, eventId: string) =>
  Effect.map(
    post(ctx, `${org(ctx)}/events/${eventId}/windows`, {
      type: "LIVE",
      url: "https://example.com/live",
      startsAt: iso(Date.now() - hour),
      endsAt: iso(Date.now() + hour)
    }),
    (r) => r.body.id as string
  )
const newCampaign = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/campaigns`, { name: `C ${unique()}` }), (r) => r.body.id as string)
/** A receiver nobody listens on (the discard port): deliveries fail quietly, the API answers regardless. */
const webhookBody = { url: "http://127.0.0.1:9/hook", eventTypes: ["export.ready"] }
const newWebhook = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/webhooks`, webhookBody), (r) => r.body.endpoint.id as string)
/** A broker nobody listens on (the discard port): deliveries fail quietly, the API answers regardless. */
const destinationBody = { url: "amqp://127.0.0.1:9/tapline", eventTypes: ["export.ready"] }
const newDestination = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/destinations`, destinationBody), (r) => r.body.id as string)
/** A disabled registration source on the discard port: nothing consumes it, the API answers regardless. */
const sourceBody = () => ({ name: `s${unique()}`, url: "amqp://u:p@127.0.0.1:9/tickets", enabled: false })
const newSource = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/registration-sources`, sourceBody()), (r) => r.body.id as string)
/** A journey on a fresh event (issue 33). */
const journeyBody = (eventId: string) => ({
  eventId,
  name: `J ${unique()}`,
  trigger: { _tag: "registration" },
  subject: "Hi {{name}}",
  body: "See you at {{event}}"
})
const newJourney = (ctx: Ctx) =>
  Effect.flatMap(newEvent(ctx), (eventId) =>
    Effect.map(post(ctx, `${org(ctx)}/journeys`, journeyBody(eventId)), (r) => r.body.id as string)
  )
/** A journey with one message in its log: a registrant without consent, skipped by the sender. */
const newJourneyMessage = (ctx: Ctx) =>
  Effect.gen(function* () {
    const { bandId } = yield* newBand(ctx)
    const eventId = (yield* call("GET", `${org(ctx)}/bands/${bandId}`, { key: ctx.admin })).body
      .eventId as string
    const journeyId = (yield* post(ctx, `${org(ctx)}/journeys`, journeyBody(eventId))).body.id as string
    yield* post(ctx, `${org(ctx)}/registrants`, { bandId, email: `p${unique()}@example.com` })
    const log = `${org(ctx)}/journeys/${journeyId}/messages`
    const messageId = yield* call("GET", log, { key: ctx.admin }).pipe(
      Effect.flatMap((r) => Effect.fromNullable(r.body.items?.[0]?.id as string | undefined)),
      Effect.retry(Schedule.spaced("50 millis")),
      Effect.timeout("20 seconds"),
      Effect.orDie
    )
    return { journeyId, messageId }
  })
/** An activation of a fresh tag over the last day, and a report issued for it (issue 35). */
const activationBody = (tagId: string) => ({
  name: `A ${unique()}`,
  tagIds: [tagId],
  startsAt: iso(Date.now() - 24 * hour),
  endsAt: iso(Date.now())
})
const newActivation = (ctx: Ctx) =>
  Effect.flatMap(post(ctx, `${org(ctx)}/tags`, { name: `T ${unique()}` }), (tag) =>
    Effect.map(post(ctx, `${org(ctx)}/activations`, activationBody(tag.body.id)), (r) => r.body.id as string)
  )
const newRecap = (ctx: Ctx) =>
  Effect.flatMap(newEvent(ctx), (eventId) =>
    Effect.map(post(ctx, `${org(ctx)}/recaps`, { eventId }), (r) => r.body.id as string)
  )
const newReport = (ctx: Ctx) =>
  Effect.flatMap(newActivation(ctx), (activationId) =>
    Effect.map(post(ctx, `${org(ctx)}/activations/${activationId}/reports`, {}), (r) => r.body.id as string)
  )
/** Public endpoints answer every caller alike. */
const everyone = (status: number): Partial<Record<Caller, number>> => ({
  none: status,
  other: status,
  VIEWER: status,
  EDITOR: status,
  OWNER: status
})
const setupToken = `tsu_${"S".repeat(43)}`
const bogusCredential = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "e30" } }
const newProviderBody = () => ({
  id: `gh-${unique()}`,
  kind: "github",
  displayName: "GitHub",
  clientId: "client",
  clientSecret: "secret"
})
const newTag = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/tags`, { name: `T ${unique()}` }), (r) => r.body.id as string)
const newBand = (ctx: Ctx) =>
  Effect.gen(function* () {
    const eventId = yield* newEvent(ctx)
    const uid = `B-${unique()}`
    yield* call("POST", `${org(ctx)}/events/${eventId}/bands/import`, {
      key: ctx.admin,
      body: { bands: [{ bandUid: uid }] }
    }).pipe(Effect.flatMap((r) => ok(r, 200, "import")))
    const list = yield* call("GET", `${org(ctx)}/bands?eventId=${eventId}`, { key: ctx.admin })
    return { bandId: list.body.items[0].id as string, eventId }
  })
const newRegistrant = (ctx: Ctx) =>
  Effect.gen(function* () {
    const { bandId } = yield* newBand(ctx)
    const created = yield* post(ctx, `${org(ctx)}/registrants`, {
      bandId,
      name: "Ann",
      email: "ann@example.com"
    })
    return created.body.id as string
  })
const newMember = (ctx: Ctx) =>
  Effect.map(
    post(ctx, `${org(ctx)}/members`, { email: `m-${unique()}@example.com`, role: "EDITOR" }),
    (r) => r.body.userId as string
  )
const newKey = (ctx: Ctx) =>
  Effect.map(post(ctx, `${org(ctx)}/api-keys`, { name: "k", role: "VIEWER" }), (r) => r.body.key.id as string)

/** A finished export of an event's taps (the harness works jobs in memory, so it finishes at once). */
/** A band-import upload with its CSV already PUT, as an organiser's client would leave it. */
const newUpload = (ctx: Ctx) =>
  Effect.gen(function* () {
    const ticket = yield* post(ctx, `${org(ctx)}/uploads`, {
      purpose: "band-import",
      contentType: "text/csv",
      size: 13
    })
    const put = yield* Effect.promise(() =>
      fetch(ticket.body.uploadUrl, {
        method: "PUT",
        body: "band_uid\nU-1\n",
        headers: { "content-type": "text/csv" }
      })
    )
    expect(put.status).toBe(200)
    return ticket.body.id as string
  })
const newExport = (ctx: Ctx, kind: "taps" | "audit" = "taps") =>
  Effect.gen(function* () {
    const body = kind === "taps" ? { kind, eventId: yield* newEvent(ctx) } : { kind }
    const created = yield* call("POST", `${org(ctx)}/exports`, { key: ctx.admin, body }).pipe(
      Effect.flatMap((r) => ok(r, 202, "create export"))
    )
    const id = created.body.id as string
    for (let i = 0; i < 100; i++) {
      const state = yield* call("GET", `${org(ctx)}/exports/${id}`, { key: ctx.admin })
      if (state.body.status === "done") break
      yield* Effect.sleep("50 millis")
    }
    return id
  })

const specs: ReadonlyArray<Spec> = [
  // Organisations: list and slug check answer every signed-in caller about its own organisations.
  {
    name: "organizations.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    expected: { other: 200 },
    prepare: () => Effect.succeed({ path: "/api/v1/organizations" })
  },
  {
    name: "organizations.create",
    method: "POST",
    min: "ADMIN",
    success: 201,
    prepare: () =>
      Effect.succeed({ path: "/api/v1/organizations", body: { slug: `new-${unique()}`, name: "New" } }),
    expected: { other: 403 }
  },
  {
    name: "organizations.slugAvailability",
    method: "GET",
    min: "VIEWER",
    success: 200,
    expected: { other: 200 },
    prepare: () => Effect.succeed({ path: "/api/v1/organizations/slug-availability?slug=free-slug" })
  },
  {
    name: "organizations.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: org(c) })
  },
  {
    name: "organizations.update",
    method: "PATCH",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(createTenant(c.admin), (t) => ({
        path: `/api/v1/organizations/${t.orgId}`,
        body: { name: "Renamed" },
        tenant: t
      }))
  },
  {
    name: "organizations.setLogo",
    method: "PUT",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const png = Buffer.from(
          "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
          "base64"
        )
        const ticket = yield* post(c, `${org(c)}/uploads`, {
          purpose: "logo",
          contentType: "image/png",
          size: png.length
        })
        const put = yield* Effect.promise(() =>
          fetch(ticket.body.uploadUrl, { method: "PUT", body: png, headers: { "content-type": "image/png" } })
        )
        expect(put.status).toBe(200)
        return { path: `${org(c)}/logo`, body: { uploadId: ticket.body.id } }
      })
  },
  {
    name: "organizations.removeLogo",
    method: "DELETE",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/logo` })
  },
  {
    name: "organizations.delete",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) =>
      Effect.map(createTenant(c.admin), (t) => ({ path: `/api/v1/organizations/${t.orgId}`, tenant: t }))
  },
  // Members and API keys: OWNER business.
  {
    name: "members.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/members` })
  },
  {
    name: "members.add",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) =>
      Effect.succeed({
        path: `${org(c)}/members`,
        body: { email: `n-${unique()}@example.com`, role: "VIEWER" }
      })
  },
  {
    name: "members.update",
    method: "PATCH",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newMember(c), (id) => ({ path: `${org(c)}/members/${id}`, body: { role: "VIEWER" } }))
  },
  {
    name: "members.remove",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.map(newMember(c), (id) => ({ path: `${org(c)}/members/${id}` }))
  },
  {
    name: "apiKeys.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/api-keys` })
  },
  {
    name: "apiKeys.create",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/api-keys`, body: { name: "ci", role: "EDITOR" } })
  },
  {
    name: "apiKeys.revoke",
    method: "DELETE",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newKey(c), (id) => ({ path: `${org(c)}/api-keys/${id}` }))
  },
  // Campaigns.
  {
    name: "campaigns.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/campaigns` })
  },
  {
    name: "campaigns.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/campaigns`, body: { name: "Tour" } })
  },
  {
    name: "campaigns.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newCampaign(c), (id) => ({ path: `${org(c)}/campaigns/${id}` }))
  },
  {
    name: "campaigns.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newCampaign(c), (id) => ({ path: `${org(c)}/campaigns/${id}`, body: { status: "ACTIVE" } }))
  },
  {
    name: "campaigns.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newCampaign(c), (id) => ({ path: `${org(c)}/campaigns/${id}` }))
  },
  {
    name: "campaigns.restore",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const id = yield* newCampaign(c)
        yield* call("DELETE", `${org(c)}/campaigns/${id}`, { key: c.admin })
        return { path: `${org(c)}/campaigns/${id}/restore` }
      })
  },
  // Events.
  {
    name: "events.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/events` })
  },
  {
    name: "events.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/events`, body: { name: "Show" } })
  },
  {
    name: "events.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}` }))
  },
  {
    name: "events.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}`, body: { venue: "Hall" } }))
  },
  {
    name: "events.changeStatus",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}/status`, body: { status: "ACTIVE" } }))
  },
  {
    name: "events.duplicate",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}/duplicate`, body: {} }))
  },
  {
    name: "events.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}` }))
  },
  {
    name: "events.restore",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const id = yield* newEvent(c)
        yield* call("DELETE", `${org(c)}/events/${id}`, { key: c.admin })
        return { path: `${org(c)}/events/${id}/restore` }
      })
  },
  // Windows.
  {
    name: "windows.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}/windows` }))
  },
  {
    name: "windows.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({
        path: `${org(c)}/events/${id}/windows`,
        body: {
          type: "PRE",
          url: "https://example.com/pre",
          startsAt: iso(Date.now()),
          endsAt: iso(Date.now() + hour)
        }
      }))
  },
  {
    name: "windows.replace",
    method: "PUT",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({
        path: `${org(c)}/events/${id}/windows`,
        body: {
          windows: [
            {
              type: "LIVE",
              url: "https://example.com/live",
              startsAt: iso(Date.now()),
              endsAt: iso(Date.now() + hour)
            }
          ]
        }
      }))
  },
  {
    name: "windows.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const eventId = yield* newEvent(c)
        const windowId = yield* newWindow(c, eventId)
        return { path: `${org(c)}/events/${eventId}/windows/${windowId}`, body: { title: "Doors" } }
      })
  },
  {
    name: "windows.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) =>
      Effect.gen(function* () {
        const eventId = yield* newEvent(c)
        const windowId = yield* newWindow(c, eventId)
        return { path: `${org(c)}/events/${eventId}/windows/${windowId}` }
      })
  },
  {
    name: "windows.activate",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const eventId = yield* newEvent(c)
        const windowId = yield* newWindow(c, eventId)
        return { path: `${org(c)}/events/${eventId}/windows/${windowId}/activate` }
      })
  },
  // Bands.
  {
    name: "bands.import",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({
        path: `${org(c)}/events/${id}/bands/import`,
        text: "band_uid,registrant_name\nA-1,Ann\n",
        contentType: "text/csv"
      }))
  },
  {
    name: "bands.importUpload",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const eventId = yield* newEvent(c)
        const uploadId = yield* newUpload(c)
        return { path: `${org(c)}/events/${eventId}/bands/import-upload`, body: { uploadId } }
      })
  },
  {
    name: "uploads.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.succeed({
        path: `${org(c)}/uploads`,
        body: { purpose: "band-import", contentType: "text/csv", size: 13 }
      })
  },
  {
    name: "bands.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/bands` })
  },
  {
    name: "bands.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newBand(c), ({ bandId }) => ({ path: `${org(c)}/bands/${bandId}` }))
  },
  {
    name: "bands.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newBand(c), ({ bandId }) => ({
        path: `${org(c)}/bands/${bandId}`,
        body: { registrantName: "Bo" }
      }))
  },
  {
    name: "bands.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newBand(c), ({ bandId }) => ({ path: `${org(c)}/bands/${bandId}` }))
  },
  {
    name: "bands.restore",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const { bandId } = yield* newBand(c)
        yield* call("DELETE", `${org(c)}/bands/${bandId}`, { key: c.admin })
        return { path: `${org(c)}/bands/${bandId}/restore` }
      })
  },
  {
    name: "bands.reassign",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const { bandId } = yield* newBand(c)
        const target = yield* newEvent(c)
        return { path: `${org(c)}/bands/${bandId}/reassign`, body: { eventId: target } }
      })
  },
  {
    name: "bands.bulkReassign",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const { bandId } = yield* newBand(c)
        const target = yield* newEvent(c)
        return { path: `${org(c)}/bands/reassign`, body: { bandIds: [bandId], eventId: target } }
      })
  },
  {
    name: "bands.resolveFlag",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newBand(c), ({ bandId }) => ({ path: `${org(c)}/bands/${bandId}/resolve-flag` }))
  },
  {
    name: "bands.setTags",
    method: "PUT",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const { bandId } = yield* newBand(c)
        const tagId = yield* newTag(c)
        return { path: `${org(c)}/bands/${bandId}/tags`, body: { tagIds: [tagId] } }
      })
  },
  {
    name: "bands.activity",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newBand(c), ({ bandId }) => ({ path: `${org(c)}/bands/${bandId}/activity` }))
  },
  // Tags.
  {
    name: "tags.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/tags` })
  },
  {
    name: "tags.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/tags`, body: { name: `VIP ${unique()}` } })
  },
  {
    name: "tags.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newTag(c), (id) => ({ path: `${org(c)}/tags/${id}`, body: { color: "#112233" } }))
  },
  {
    name: "tags.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newTag(c), (id) => ({ path: `${org(c)}/tags/${id}` }))
  },
  // Analytics: every member reads them.
  {
    name: "analytics.eventSummary",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/analytics/events/${id}/summary` }))
  },
  {
    name: "analytics.eventTimeSeries",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/analytics/events/${id}/timeseries` }))
  },
  {
    name: "analytics.eventTaps",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/analytics/events/${id}/taps.csv` }))
  },
  {
    name: "analytics.campaignSummary",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) =>
      Effect.map(newCampaign(c), (id) => ({ path: `${org(c)}/analytics/campaigns/${id}/summary` }))
  },
  {
    name: "analytics.organizationSummary",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/analytics/summary` })
  },
  {
    name: "analytics.compare",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/analytics/compare?eventIds=${id}` }))
  },
  // Issue 28 (analytics): time series of campaigns and organisations, read as the event's is.
  {
    name: "analytics.campaignTimeSeries",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) =>
      Effect.map(newCampaign(c), (id) => ({ path: `${org(c)}/analytics/campaigns/${id}/timeseries` }))
  },
  {
    name: "analytics.organizationTimeSeries",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/analytics/timeseries?bucket=day` })
  },
  // Issue 28 item 3: the device breakdown, read as the event's summary is.
  {
    name: "analytics.eventDevices",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/analytics/events/${id}/devices` }))
  },
  // End of issue 28 (analytics).
  // Exports: queued by members (the audit log's by OWNERs), read back when done.
  {
    name: "exports.create",
    method: "POST",
    min: "VIEWER",
    success: 202,
    prepare: (c) =>
      Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/exports`, body: { kind: "taps", eventId: id } }))
  },
  {
    name: "exports.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/exports` })
  },
  {
    name: "exports.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newExport(c), (id) => ({ path: `${org(c)}/exports/${id}` }))
  },
  {
    name: "exports.download",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newExport(c), (id) => ({ path: `${org(c)}/exports/${id}/download` }))
  },
  // An export of the audit log is the audit log: below OWNER it is not listed, read or downloaded.
  {
    name: "exports.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newExport(c, "audit"), (id) => ({ path: `${org(c)}/exports?limit=100`, id })),
    shows: (caller, reply, prepared) => {
      const listed = reply.text.includes(prepared.id!)
      if (rank[caller] < rank.OWNER && listed) return "lists the audit export"
      if (rank[caller] >= rank.OWNER && !listed) return "hides the audit export from its OWNER"
      return undefined
    }
  },
  {
    name: "exports.get",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newExport(c, "audit"), (id) => ({ path: `${org(c)}/exports/${id}` })),
    shows: (_, reply) => (reply.body.downloadUrl === null ? "no download link for its OWNER" : undefined)
  },
  {
    name: "exports.download",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newExport(c, "audit"), (id) => ({ path: `${org(c)}/exports/${id}/download` }))
  },
  // Audit log: OWNER only.
  {
    name: "audit.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/audit` })
  },
  {
    name: "audit.export",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/audit/export` })
  },
  // Webhooks and chat alerts: OWNER only.
  {
    name: "webhooks.create",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/webhooks`, body: webhookBody })
  },
  {
    name: "webhooks.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/webhooks` })
  },
  {
    name: "webhooks.get",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}` }))
  },
  {
    name: "webhooks.update",
    method: "PATCH",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newWebhook(c), (id) => ({
        path: `${org(c)}/webhooks/${id}`,
        body: { description: "renamed" }
      }))
  },
  {
    name: "webhooks.remove",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}` }))
  },
  {
    name: "webhooks.rotateSecret",
    method: "POST",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}/rotate-secret`, body: {} }))
  },
  {
    name: "webhooks.test",
    method: "POST",
    min: "OWNER",
    success: 202,
    prepare: (c) => Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}/test` }))
  },
  {
    name: "webhooks.deliveries",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}/deliveries` }))
  },
  {
    name: "webhooks.attempts",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newWebhook(c), (id) => ({ path: `${org(c)}/webhooks/${id}/attempts` }))
  },
  {
    name: "webhooks.redeliver",
    method: "POST",
    min: "OWNER",
    success: 202,
    prepare: (c) =>
      Effect.gen(function* () {
        const id = yield* newWebhook(c)
        const ping = yield* call("POST", `${org(c)}/webhooks/${id}/test`, { key: c.admin }).pipe(
          Effect.flatMap((r) => ok(r, 202, "webhook test"))
        )
        return { path: `${org(c)}/webhooks/${id}/deliveries/${ping.body.messageId}/redeliver` }
      })
  },
  // An organisation's broker destinations: OWNER only.
  {
    name: "destinations.create",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/destinations`, body: destinationBody })
  },
  {
    name: "destinations.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/destinations` })
  },
  {
    name: "destinations.get",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newDestination(c), (id) => ({ path: `${org(c)}/destinations/${id}` }))
  },
  {
    name: "destinations.update",
    method: "PATCH",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newDestination(c), (id) => ({
        path: `${org(c)}/destinations/${id}`,
        body: { description: "renamed" }
      }))
  },
  {
    name: "destinations.remove",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.map(newDestination(c), (id) => ({ path: `${org(c)}/destinations/${id}` }))
  },
  {
    name: "destinations.test",
    method: "POST",
    min: "OWNER",
    success: 202,
    prepare: (c) => Effect.map(newDestination(c), (id) => ({ path: `${org(c)}/destinations/${id}/test` }))
  },
  {
    name: "destinations.deliveries",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newDestination(c), (id) => ({ path: `${org(c)}/destinations/${id}/deliveries` }))
  },
  {
    name: "destinations.redrive",
    method: "POST",
    min: "OWNER",
    success: 202,
    prepare: (c) => Effect.map(newDestination(c), (id) => ({ path: `${org(c)}/destinations/${id}/redrive` }))
  },
  // Live view.
  {
    name: "live.summary",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}/live/summary` }))
  },
  {
    name: "live.stream",
    method: "GET",
    min: "VIEWER",
    success: 200,
    stream: true,
    prepare: (c) => Effect.map(newEvent(c), (id) => ({ path: `${org(c)}/events/${id}/live` }))
  },
  // Infrastructure: platform ADMIN only, and not about one organisation, so outsiders get 403 too.
  {
    name: "infrastructure.readModel",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/read-model" })
  },
  {
    name: "infrastructure.rebuildReadModel",
    method: "POST",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/read-model/rebuild?onlyStale=true" })
  },
  {
    name: "infrastructure.deadLetters",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/taps/dead-letters" })
  },
  {
    name: "infrastructure.redriveDeadLetters",
    method: "POST",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/taps/dead-letters/redrive?limit=1" })
  },
  {
    name: "infrastructure.failedJobs",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/jobs/failed" })
  },
  {
    // The ADMIN reaches the handler, which knows no failed job by this id.
    name: "infrastructure.retryJob",
    method: "POST",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () =>
      Effect.succeed({ path: "/api/v1/infrastructure/jobs/01a20000-0000-7000-8000-000000000000/retry" })
  },
  {
    name: "infrastructure.pipeline",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/infrastructure/pipeline" })
  },
  // Personal endpoints: a user (here the ADMIN's personal key) only; organisation keys are no user.
  {
    name: "sessions.me",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me" })
  },
  {
    name: "sessions.list",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/sessions" })
  },
  {
    // The ADMIN reaches the handler, which finds no session of theirs by this id.
    name: "sessions.revoke",
    method: "DELETE",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/sessions/01a20000-0000-7000-8000-000000000000" })
  },
  {
    // Only a session signs out; every API key (the ADMIN's personal one too) gets 403.
    name: "sessions.signOut",
    method: "POST",
    min: "ADMIN",
    success: 403,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/auth/sign-out" })
  },
  {
    // Public: the refresh token is the credential, and an API key is none.
    name: "sessions.refresh",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: { other: 401, VIEWER: 401, EDITOR: 401, OWNER: 401 },
    prepare: () => Effect.succeed({ path: "/api/v1/auth/refresh", body: {} })
  },
  {
    name: "totp.enrol",
    method: "POST",
    min: "ADMIN",
    success: 201,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/totp" })
  },
  {
    // The ADMIN reaches the check, which refuses a wrong code.
    name: "totp.confirm",
    method: "POST",
    min: "ADMIN",
    success: 400,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/totp/confirm", body: { code: "000000" } })
  },
  {
    name: "totp.disable",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/totp/disable", body: { code: "000000" } })
  },
  {
    // Public: the sign-in ticket is the credential.
    name: "totp.signIn",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: { other: 401, VIEWER: 401, EDITOR: 401, OWNER: 401 },
    prepare: () =>
      Effect.succeed({ path: "/api/v1/auth/second-factor", body: { ticket: "tlt_unknown", code: "123456" } })
  },
  {
    name: "invitations.create",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) =>
      Effect.succeed({
        path: `${org(c)}/invitations`,
        body: { email: `invitee-${unique()}@example.com`, role: "VIEWER" }
      })
  },
  {
    name: "invitations.newLink",
    method: "POST",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(
        post(c, `${org(c)}/invitations`, { email: `link-${unique()}@example.com`, role: "VIEWER" }),
        (r) => ({ path: `${org(c)}/invitations/${r.body.id}/link` })
      )
  },
  {
    name: "invitations.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/invitations` })
  },
  {
    name: "invitations.revoke",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) =>
      Effect.map(
        post(c, `${org(c)}/invitations`, { email: `revoke-${unique()}@example.com`, role: "VIEWER" }),
        (r) => ({ path: `${org(c)}/invitations/${r.body.id}` })
      )
  },
  {
    // Public: the link's token is the credential; an unknown one is not found for everyone.
    name: "invitations.preview",
    method: "GET",
    min: "ADMIN",
    success: 404,
    expected: { none: 404, other: 404, VIEWER: 404, EDITOR: 404, OWNER: 404 },
    prepare: () => Effect.succeed({ path: "/api/v1/invitations/tli_unknown" })
  },
  {
    // A user accepts (the ADMIN's personal key reaches the handler); organisation keys are no user.
    name: "invitations.accept",
    method: "POST",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/invitations/tli_unknown/accept" })
  },
  {
    // Public: a stream consumer validates what it receives against these.
    name: "schemas.get",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () => Effect.succeed({ path: "/api/v1/schemas/tap.created.json" })
  },
  {
    // Public: the sign-in page's buttons.
    name: "oauth.providers",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/providers" })
  },
  {
    name: "oauth.start",
    method: "GET",
    min: "ADMIN",
    success: 404,
    expected: everyone(404),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/oauth/no-such-provider/start" })
  },
  {
    // Public: without the state cookie every caller lands on the sign-in page (fetch follows the 302).
    name: "oauth.callback",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/oauth/no-such-provider/callback?state=s&code=c" })
  },
  {
    name: "oauth.callbackForm",
    method: "POST",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () =>
      Effect.succeed({
        path: "/api/v1/auth/oauth/no-such-provider/callback",
        text: "state=s&code=c",
        contentType: "application/x-www-form-urlencoded"
      })
  },
  {
    name: "oauth.identities",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/identities" })
  },
  {
    name: "oauth.link",
    method: "POST",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/identities/no-such-provider" })
  },
  {
    name: "oauth.unlink",
    method: "DELETE",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/identities/no-such-provider" })
  },
  {
    name: "oauthProviders.list",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/admin/oauth-providers" })
  },
  {
    name: "oauthProviders.create",
    method: "POST",
    min: "ADMIN",
    success: 201,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/admin/oauth-providers", body: newProviderBody() })
  },
  {
    name: "oauthProviders.update",
    method: "PATCH",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: (c) =>
      Effect.map(post(c, "/api/v1/admin/oauth-providers", newProviderBody()), (r) => ({
        path: `/api/v1/admin/oauth-providers/${r.body.id}`,
        body: { displayName: "Renamed" }
      }))
  },
  {
    name: "oauthProviders.remove",
    method: "DELETE",
    min: "ADMIN",
    success: 204,
    expected: { other: 403 },
    prepare: (c) =>
      Effect.map(post(c, "/api/v1/admin/oauth-providers", newProviderBody()), (r) => ({
        path: `/api/v1/admin/oauth-providers/${r.body.id}`
      }))
  },
  {
    name: "passkeys.registrationOptions",
    method: "POST",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/passkeys/registration-options" })
  },
  {
    // The ADMIN reaches the check, which finds no registration under way.
    name: "passkeys.register",
    method: "POST",
    min: "ADMIN",
    success: 400,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/passkeys", body: { credential: bogusCredential } })
  },
  {
    name: "passkeys.list",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/passkeys" })
  },
  {
    name: "passkeys.rename",
    method: "PATCH",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () =>
      Effect.succeed({
        path: "/api/v1/me/passkeys/01a20000-0000-7000-8000-000000000000",
        body: { name: "x" }
      })
  },
  {
    name: "passkeys.remove",
    method: "DELETE",
    min: "ADMIN",
    success: 404,
    expected: { other: 403 },
    prepare: () => Effect.succeed({ path: "/api/v1/me/passkeys/01a20000-0000-7000-8000-000000000000" })
  },
  {
    name: "passkeys.signInOptions",
    method: "POST",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/passkey/options" })
  },
  {
    // Public: the assertion is the credential; this one matches no challenge.
    name: "passkeys.signIn",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: everyone(401),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/passkey", body: { credential: bogusCredential } })
  },
  // First run (issue 29): public, the setup link's token is the credential. Users exist here, so setup is
  // over for everyone alike: the status says so, and both steps answer 410 whoever asks.
  {
    name: "setup.status",
    method: "GET",
    min: "ADMIN",
    success: 200,
    expected: everyone(200),
    prepare: () => Effect.succeed({ path: "/api/v1/setup" })
  },
  {
    name: "setup.registrationOptions",
    method: "POST",
    min: "ADMIN",
    success: 410,
    expected: everyone(410),
    prepare: () =>
      Effect.succeed({
        path: "/api/v1/setup/registration-options",
        body: { token: setupToken, email: "first@example.com" }
      })
  },
  {
    name: "setup.complete",
    method: "POST",
    min: "ADMIN",
    success: 410,
    expected: everyone(410),
    prepare: () =>
      Effect.succeed({
        path: "/api/v1/setup",
        body: {
          token: setupToken,
          email: "first@example.com",
          organization: { kind: "demo" },
          credential: bogusCredential
        }
      })
  },
  {
    // Public: the same answer for every caller and every address (enumeration), a fresh address each call.
    name: "emailSignIn.request",
    method: "POST",
    min: "ADMIN",
    success: 202,
    expected: everyone(202),
    prepare: () =>
      Effect.succeed({ path: "/api/v1/auth/email", body: { email: `matrix-${unique()}@example.com` } })
  },
  {
    // Public: the mailed token is the credential; an API key is none.
    name: "emailSignIn.link",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: everyone(401),
    prepare: () => Effect.succeed({ path: "/api/v1/auth/email/link", body: { token: "tle_unknown" } })
  },
  {
    // Public: the mailed code is the credential.
    name: "emailSignIn.code",
    method: "POST",
    min: "ADMIN",
    success: 401,
    expected: everyone(401),
    prepare: () =>
      Effect.succeed({
        path: "/api/v1/auth/email/code",
        body: { email: `matrix-${unique()}@example.com`, code: "123456" }
      })
  },
  // Registration sources (issue 32): OWNER only, as their URLs carry credentials.
  {
    name: "registrationSources.create",
    method: "POST",
    min: "OWNER",
    success: 201,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/registration-sources`, body: sourceBody() })
  },
  {
    name: "registrationSources.list",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/registration-sources` })
  },
  {
    name: "registrationSources.get",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.map(newSource(c), (id) => ({ path: `${org(c)}/registration-sources/${id}` }))
  },
  {
    name: "registrationSources.update",
    method: "PATCH",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newSource(c), (id) => ({
        path: `${org(c)}/registration-sources/${id}`,
        body: { enabled: false }
      }))
  },
  {
    name: "registrationSources.remove",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.map(newSource(c), (id) => ({ path: `${org(c)}/registration-sources/${id}` }))
  },
  {
    name: "registrationSources.deadLetters",
    method: "GET",
    min: "OWNER",
    success: 200,
    prepare: (c) =>
      Effect.map(newSource(c), (id) => ({ path: `${org(c)}/registration-sources/${id}/dead-letters` }))
  },
  // Issue 33: registrants are personal data: EDITOR reads and writes, OWNER erases, a VIEWER sees none.
  {
    name: "registrants.list",
    method: "GET",
    min: "EDITOR",
    success: 200,
    prepare: (c) => Effect.map(newRegistrant(c), () => ({ path: `${org(c)}/registrants` }))
  },
  {
    name: "registrants.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.map(newBand(c), ({ bandId }) => ({
        path: `${org(c)}/registrants`,
        body: { bandId, name: "Ann", phone: "+447911123456" }
      }))
  },
  {
    name: "registrants.get",
    method: "GET",
    min: "EDITOR",
    success: 200,
    prepare: (c) => Effect.map(newRegistrant(c), (id) => ({ path: `${org(c)}/registrants/${id}` }))
  },
  {
    name: "registrants.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newRegistrant(c), (id) => ({ path: `${org(c)}/registrants/${id}`, body: { locale: "fr" } }))
  },
  {
    name: "registrants.erase",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.map(newRegistrant(c), (id) => ({ path: `${org(c)}/registrants/${id}` }))
  },
  {
    name: "registrants.export",
    method: "GET",
    min: "EDITOR",
    success: 200,
    prepare: (c) => Effect.map(newRegistrant(c), (id) => ({ path: `${org(c)}/registrants/${id}/export` }))
  },
  // Journeys (issue 33): VIEWER reads definitions; the delivery log (it names bands written to) is an EDITOR's.
  {
    name: "journeys.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/journeys` })
  },
  {
    name: "journeys.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.map(newEvent(c), (eventId) => ({ path: `${org(c)}/journeys`, body: journeyBody(eventId) }))
  },
  {
    name: "journeys.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newJourney(c), (id) => ({ path: `${org(c)}/journeys/${id}` }))
  },
  {
    name: "journeys.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newJourney(c), (id) => ({ path: `${org(c)}/journeys/${id}`, body: { enabled: false } }))
  },
  {
    name: "journeys.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newJourney(c), (id) => ({ path: `${org(c)}/journeys/${id}` }))
  },
  {
    name: "journeys.preview",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newJourney(c), (id) => ({ path: `${org(c)}/journeys/${id}/preview`, body: {} }))
  },
  {
    name: "journeys.test",
    method: "POST",
    min: "EDITOR",
    success: 202,
    prepare: (c) =>
      Effect.map(newJourney(c), (id) => ({
        path: `${org(c)}/journeys/${id}/test`,
        body: { to: "t@example.com" }
      }))
  },
  {
    name: "journeys.messages",
    method: "GET",
    min: "EDITOR",
    success: 200,
    prepare: (c) => Effect.map(newJourney(c), (id) => ({ path: `${org(c)}/journeys/${id}/messages` }))
  },
  {
    name: "journeys.redrive",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newJourneyMessage(c), ({ journeyId, messageId }) => ({
        path: `${org(c)}/journeys/${journeyId}/messages/${messageId}/redrive`
      }))
  },
  // Activations and signed reports (issue 35): roles as for campaigns.
  {
    name: "reports.listActivations",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/activations` })
  },
  {
    name: "reports.createActivation",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.map(post(c, `${org(c)}/tags`, { name: `T ${unique()}` }), (tag) => ({
        path: `${org(c)}/activations`,
        body: activationBody(tag.body.id)
      }))
  },
  {
    name: "reports.getActivation",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newActivation(c), (id) => ({ path: `${org(c)}/activations/${id}` }))
  },
  {
    name: "reports.updateActivation",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newActivation(c), (id) => ({
        path: `${org(c)}/activations/${id}`,
        body: { name: "Renamed" }
      }))
  },
  {
    name: "reports.deleteActivation",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) => Effect.map(newActivation(c), (id) => ({ path: `${org(c)}/activations/${id}` }))
  },
  {
    name: "reports.issue",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.map(newActivation(c), (id) => ({ path: `${org(c)}/activations/${id}/reports` }))
  },
  {
    name: "reports.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newActivation(c), (id) => ({ path: `${org(c)}/activations/${id}/reports` }))
  },
  {
    name: "reports.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newReport(c), (id) => ({ path: `${org(c)}/reports/${id}` }))
  },
  {
    name: "reports.downloadJson",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newReport(c), (id) => ({ path: `${org(c)}/reports/${id}/json` }))
  },
  {
    name: "reports.downloadPdf",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newReport(c), (id) => ({ path: `${org(c)}/reports/${id}/pdf` }))
  },
  // AI usage and budget (issue 35): usage names no person (any member); the budget is money (OWNER).
  {
    name: "ai.usage",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/ai/usage` })
  },
  {
    name: "ai.setBudget",
    method: "PUT",
    min: "OWNER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/ai/budget`, body: { monthlyBudgetUsd: 25 } })
  },
  // AI recaps (issue 35): reading is a VIEWER's; writing one spends the budget, and editing it, an EDITOR's.
  {
    name: "recaps.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) => Effect.map(newEvent(c), (eventId) => ({ path: `${org(c)}/recaps`, body: { eventId } }))
  },
  {
    name: "recaps.stream",
    method: "POST",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newEvent(c), (eventId) => ({ path: `${org(c)}/recaps/stream`, body: { eventId } }))
  },
  {
    name: "recaps.list",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/recaps` })
  },
  {
    name: "recaps.get",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newRecap(c), (id) => ({ path: `${org(c)}/recaps/${id}` }))
  },
  {
    name: "recaps.update",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newRecap(c), (id) => ({ path: `${org(c)}/recaps/${id}`, body: { text: "# Edited" } }))
  },
  {
    name: "recaps.markdown",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newRecap(c), (id) => ({ path: `${org(c)}/recaps/${id}/markdown` }))
  },
  {
    name: "recaps.pdf",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.map(newRecap(c), (id) => ({ path: `${org(c)}/recaps/${id}/pdf` }))
  },
  // Issue 34: which channels can send (provider names only) is a VIEWER's; push devices are a registrant's
  // personal data (EDITOR).
  {
    name: "journeys.channels",
    method: "GET",
    min: "VIEWER",
    success: 200,
    prepare: (c) => Effect.succeed({ path: `${org(c)}/journeys/channels` })
  },
  {
    name: "pushSubscriptions.list",
    method: "GET",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newRegistrant(c), (id) => ({ path: `${org(c)}/registrants/${id}/push-subscriptions` }))
  },
  {
    name: "pushSubscriptions.create",
    method: "POST",
    min: "EDITOR",
    success: 201,
    prepare: (c) =>
      Effect.map(newRegistrant(c), (id) => ({
        path: `${org(c)}/registrants/${id}/push-subscriptions`,
        body: { kind: "fcm", token: `fcm-token-${unique()}` }
      }))
  },
  {
    name: "pushSubscriptions.delete",
    method: "DELETE",
    min: "EDITOR",
    success: 204,
    prepare: (c) =>
      Effect.flatMap(newRegistrant(c), (id) =>
        Effect.map(
          post(c, `${org(c)}/registrants/${id}/push-subscriptions`, {
            kind: "fcm",
            token: `fcm-token-${unique()}`
          }),
          (device) => ({ path: `${org(c)}/registrants/${id}/push-subscriptions/${device.body.id}` })
        )
      )
  }
]

// ---- Trash purge (issue 28): `DELETE …?purge=true` on items already in the trash, OWNER only. ----------------
// Variants of the `delete` endpoints (a URL parameter, not endpoints of their own), so they are kept apart
// from `specs`, whose names the contract check below compares with the endpoints'.
const trashed = (c: Ctx, path: string) =>
  Effect.as(call("DELETE", path, { key: c.admin }), { path: `${path}?purge=true` })

const purgeSpecs: ReadonlyArray<Spec> = [
  {
    name: "campaigns.delete?purge=true",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.flatMap(newCampaign(c), (id) => trashed(c, `${org(c)}/campaigns/${id}`))
  },
  {
    name: "events.delete?purge=true",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.flatMap(newEvent(c), (id) => trashed(c, `${org(c)}/events/${id}`))
  },
  {
    name: "bands.delete?purge=true",
    method: "DELETE",
    min: "OWNER",
    success: 204,
    prepare: (c) => Effect.flatMap(newBand(c), ({ bandId }) => trashed(c, `${org(c)}/bands/${bandId}`))
  }
]
// ---- end of trash purge --------------------------------------------------------------------------------------

// ---- Band flags (issue 30): `PATCH …/bands/:id` with `flagged`, EDITOR and up. Variants of `bands.update`. ----
const flagSpecs: ReadonlyArray<Spec> = [
  {
    name: "bands.update (flag)",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.map(newBand(c), ({ bandId }) => ({
        path: `${org(c)}/bands/${bandId}`,
        body: { flagged: true, flagReason: "lost at the gate" }
      }))
  },
  {
    name: "bands.update (unflag)",
    method: "PATCH",
    min: "EDITOR",
    success: 200,
    prepare: (c) =>
      Effect.gen(function* () {
        const { bandId } = yield* newBand(c)
        const path = `${org(c)}/bands/${bandId}`
        yield* call("PATCH", path, { key: c.admin, body: { flagged: true } })
        return { path, body: { flagged: false } }
      })
  }
]
// ---- end of band flags ---------------------------------------------------------------------------------------

/** Cells in flight at once (`MATRIX_CONCURRENCY=1` runs them one after another, as before, to tell a race apart). */
const CELLS_AT_ONCE = Number(process.env.MATRIX_CONCURRENCY ?? 8)

const expectedStatus = (spec: Spec, caller: Caller) => {
  const override = spec.expected?.[caller]
  if (override !== undefined) return override
  if (caller === "none") return 401
  if (caller === "other") return 404
  return rank[caller] >= rank[spec.min] ? spec.success : 403
}

/** The status only: a stream's body is left unread (it never ends) and cancelled. */
const statusOfStream = (url: string, key: string | undefined) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const response = await fetch(url, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      signal: controller.signal
    })
    controller.abort()
    return response.status
  })

layer(
  // The matrix calls every endpoint as every role, in one organisation: the quotas are not what it tests.
  // A loopback OpenAI so the AI endpoints exist; it answers every recap with a short text, no figures.
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(() => startAiPeer("openai")),
        (peer) => Effect.promise(() => peer.close())
      ),
      (openai) =>
        adminHarness({
          QUOTA_EXPORTS_PER_MINUTE: "1000",
          QUOTA_TEST_PINGS_PER_MINUTE: "1000",
          JOURNEY_POLL_INTERVAL: "50 millis",
          OPENAI_API_KEY: "sk-matrix-unused",
          OPENAI_API_URL: openai.baseUrl
        })
    )
  ),
  { excludeTestServices: true, timeout: 120_000 }
)("authorization matrix", (it) => {
  it.effect(
    "every endpoint answers each caller as its role allows",
    () =>
      Effect.gen(function* () {
        const server = yield* AdminServer
        const admin = yield* bootstrapKey()
        const tenant = yield* createTenant(admin)
        const outsider = yield* createTenant(admin)
        const all = [...specs, ...purgeSpecs, ...flagSpecs]
        // A GET changes nothing it reads, so its callers share one prepared resource (fixtures were most of
        // the matrix's time); any other method gets fresh resources per caller, as the comment at the top says.
        // (`prepare` is called per caller otherwise: some specs draw their unique names when called.)
        const prepares = yield* Effect.forEach(all, (spec) =>
          spec.method === "GET" && spec.freshPerCaller !== true
            ? Effect.map(Effect.cached(spec.prepare({ admin, tenant })), (shared) => () => shared)
            : Effect.succeed(() => spec.prepare({ admin, tenant }))
        )
        // Cells do not depend on one another: they run side by side, and the server's waits on PostgreSQL
        // and the export and journey polls overlap (cell after cell took minutes on a busy machine).
        const answers = yield* Effect.forEach(
          all.flatMap((spec, i) => callers.map((caller) => [spec, prepares[i]!, caller] as const)),
          ([spec, prepare, caller]) =>
            Effect.gen(function* () {
              const prepared = yield* prepare()
              const keys = (prepared.tenant ?? tenant).keys
              const key =
                caller === "none"
                  ? undefined
                  : caller === "other"
                    ? outsider.keys.OWNER
                    : caller === "ADMIN"
                      ? admin
                      : keys[caller]
              const reply = spec.stream
                ? undefined
                : yield* call(spec.method, prepared.path, { ...prepared, key })
              const status = reply?.status ?? (yield* statusOfStream(`${server.url}${prepared.path}`, key))
              const expected = expectedStatus(spec, caller)
              const shown =
                reply !== undefined && status < 300 ? spec.shows?.(caller, reply, prepared) : undefined
              return [
                ...(status !== expected
                  ? [`${spec.name} as ${caller}: ${status}, expected ${expected}`]
                  : []),
                ...(shown !== undefined ? [`${spec.name} as ${caller}: ${shown}`] : [])
              ]
            }),
          { concurrency: CELLS_AT_ONCE }
        )
        const mismatches = answers.flat()
        const cells = answers.length
        console.log(
          `authorization matrix: ${all.length} endpoints × ${callers.length} callers = ${cells} cells`
        )
        expect(mismatches).toEqual([])
        expect(cells).toBe(all.length * callers.length)
      }),
    300_000
  )
})

describe("the matrix covers the contract", () => {
  it("names every endpoint of the admin groups", () => {
    const names: Array<string> = []
    HttpApi.reflect(TaplineApi, {
      onGroup: () => {},
      onEndpoint: ({ group, endpoint }) => {
        if (group.identifier !== "health") names.push(`${group.identifier}.${endpoint.name}`)
      }
    })
    expect(names.sort()).toEqual([...new Set(specs.map((spec) => spec.name))].sort())
  })
})
