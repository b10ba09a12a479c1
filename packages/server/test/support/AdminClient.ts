import type { Email } from "@tapline/domain"
import { Effect, Layer } from "effect"
import { Audit } from "../../src/Audit/Audit.js"
import { ApiKeyRepository } from "../../src/Auth/ApiKeys.js"
import { bootstrapAdmin } from "../../src/Auth/Bootstrap.js"
import { Users } from "../../src/Users/Users.js"
import { AdminServer } from "./AdminHarness.js"

export interface Reply {
  readonly status: number
  // biome-ignore lint/suspicious/noExplicitAny: a JSON reply that tests read field by field
  readonly body: any
  readonly text: string
  readonly headers: Headers
}

export interface CallOptions {
  readonly key?: string | undefined
  readonly body?: unknown
  readonly text?: string
  readonly contentType?: string
  readonly headers?: Record<string, string>
}

/** One admin API request with fetch, as a client would send it. */
export const call = (method: string, path: string, options: CallOptions = {}) =>
  Effect.flatMap(AdminServer, ({ url }) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { "user-agent": "tapline-test/1.0", ...options.headers }
      if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
      let body: string | undefined
      if (options.text !== undefined) {
        body = options.text
        headers["content-type"] = options.contentType ?? "text/plain"
      } else if (options.body !== undefined) {
        body = JSON.stringify(options.body)
        headers["content-type"] = options.contentType ?? "application/json"
      }
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body })
      })
      const text = await response.text()
      let parsed: unknown = null
      try {
        parsed = text.length > 0 ? JSON.parse(text) : null
      } catch {
        parsed = null
      }
      return { status: response.status, body: parsed, text, headers: response.headers }
    })
  )

/** A platform ADMIN's personal key, as `pnpm tapline admin:bootstrap` issues it. */
export const bootstrapKey = (email = "admin@example.com") =>
  bootstrapAdmin(email as Email).pipe(
    Effect.map((result) => result.secret),
    Effect.provide(
      Layer.merge(ApiKeyRepository.Default, Users.Default).pipe(Layer.provideMerge(Audit.Default))
    ),
    Effect.orDie
  )

export interface Tenant {
  readonly orgId: string
  readonly slug: string
  readonly keys: { readonly OWNER: string; readonly EDITOR: string; readonly VIEWER: string }
}

let tenants = 0

const expectStatus = (reply: Reply, status: number, what: string) =>
  reply.status === status
    ? Effect.succeed(reply)
    : Effect.dieMessage(`${what}: expected ${status}, got ${reply.status} ${reply.text}`)

/** An organisation created by the ADMIN, with an API key for each role. */
export const createTenant = (adminKey: string) =>
  Effect.gen(function* () {
    const slug = `org-${process.pid}-${++tenants}-${Math.random().toString(36).slice(2, 7)}`
    const org = yield* call("POST", "/api/v1/organizations", {
      key: adminKey,
      body: { slug, name: `Org ${slug}`, websiteUrl: `https://${slug}.example/` }
    }).pipe(Effect.flatMap((r) => expectStatus(r, 201, "create organisation")))
    const orgId = org.body.id as string
    const key = (role: string) =>
      call("POST", `/api/v1/organizations/${orgId}/api-keys`, {
        key: adminKey,
        body: { name: role.toLowerCase(), role }
      }).pipe(
        Effect.flatMap((r) => expectStatus(r, 201, `create ${role} key`)),
        Effect.map((r) => r.body.secret as string)
      )
    return {
      orgId,
      slug,
      keys: { OWNER: yield* key("OWNER"), EDITOR: yield* key("EDITOR"), VIEWER: yield* key("VIEWER") }
    } satisfies Tenant
  })

export const ok = (reply: Reply, status: number, what = "request") => expectStatus(reply, status, what)

const HOUR = 3_600_000

/** An ACTIVE event with one LIVE window around now and the given bands. */
export const liveEvent = (tenant: Tenant, bands: ReadonlyArray<string>, name = "Show") =>
  Effect.gen(function* () {
    const key = tenant.keys.EDITOR
    const base = `/api/v1/organizations/${tenant.orgId}/events`
    const event = yield* ok(yield* call("POST", base, { key, body: { name } }), 201)
    const eventId = event.body.id as string
    const window = yield* ok(
      yield* call("POST", `${base}/${eventId}/windows`, {
        key,
        body: {
          type: "LIVE",
          url: "https://example.com/live",
          startsAt: new Date(Date.now() - HOUR).toISOString(),
          endsAt: new Date(Date.now() + HOUR).toISOString()
        }
      }),
      201
    )
    yield* ok(yield* call("POST", `${base}/${eventId}/status`, { key, body: { status: "ACTIVE" } }), 200)
    yield* ok(
      yield* call("POST", `${base}/${eventId}/bands/import`, {
        key,
        body: { bands: bands.map((bandUid) => ({ bandUid })) }
      }),
      200
    )
    return { eventId, windowId: window.body.id as string, base: `${base}/${eventId}` }
  })
