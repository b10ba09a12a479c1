import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Jobs } from "../src/Jobs/Jobs.js"
import { bootstrapKey, call, createTenant, ok } from "./support/AdminClient.js"
import { AdminServer, adminHarness, TAP_DOMAIN } from "./support/AdminHarness.js"
import { request } from "./support/HotPathHarness.js"

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

const until = <A, R>(check: Effect.Effect<A, never, R>, done: (a: A) => boolean, timeoutMs = 15_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* check
      if (done(value) || Date.now() > deadline) return value
      yield* Effect.sleep("100 millis")
    }
  })

layer(adminHarness(), { excludeTestServices: true, timeout: 120_000 })("background jobs", (it) => {
  it.effect(
    "auto-lifecycle activates an event at its start and completes it at its end, through the queue",
    () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        const { port } = yield* AdminServer
        const tenant = yield* createTenant(yield* bootstrapKey("lifecycle@example.com"))
        const key = tenant.keys.EDITOR
        const events = `/api/v1/organizations/${tenant.orgId}/events`
        const event = yield* ok(
          yield* call("POST", events, {
            key,
            body: {
              name: "Auto",
              autoLifecycle: true,
              startsAt: iso(Date.now() - HOUR),
              endsAt: iso(Date.now() + HOUR)
            }
          }),
          201
        )
        const id = event.body.id as string
        yield* call("POST", `${events}/${id}/windows`, {
          key,
          body: {
            type: "LIVE",
            url: "https://example.com/auto",
            startsAt: iso(Date.now() - HOUR),
            endsAt: iso(Date.now() + HOUR)
          }
        })
        yield* call("POST", `${events}/${id}/bands/import`, { key, body: { bands: [{ bandUid: "AUTO-1" }] } })
        const tap = () => request(port, "/e?bandId=AUTO-1", { host: `${tenant.slug}.${TAP_DOMAIN}` })
        expect((yield* tap()).location).toBe(`https://${tenant.slug}.example/`)

        yield* jobs.enqueue("events.lifecycle", {})
        const active = yield* until(
          Effect.map(call("GET", `${events}/${id}`, { key }), (r) => r.body.status as string),
          (status) => status === "ACTIVE"
        )
        expect(active).toBe("ACTIVE")
        // The job projects the organisation right after its transaction commits.
        const routed = yield* until(
          Effect.map(tap(), (reply) => reply.location),
          (location) => location === "https://example.com/auto"
        )
        expect(routed).toBe("https://example.com/auto")

        yield* call("PATCH", `${events}/${id}`, { key, body: { endsAt: iso(Date.now() - 1000) } })
        yield* jobs.enqueue("events.lifecycle", {})
        const completed = yield* until(
          Effect.map(call("GET", `${events}/${id}`, { key }), (r) => r.body.status as string),
          (status) => status === "COMPLETED"
        )
        expect(completed).toBe("COMPLETED")
        const audit = yield* call(
          "GET",
          `/api/v1/organizations/${tenant.orgId}/audit?action=event.auto_lifecycle`,
          {
            key: tenant.keys.OWNER
          }
        )
        expect(audit.body.items.map((e: { actorType: string }) => e.actorType)).toEqual(["system", "system"])
        // Events that did not opt in are left alone.
        const manual = yield* call("POST", events, {
          key,
          body: { name: "Manual", startsAt: iso(Date.now() - HOUR) }
        })
        yield* jobs.enqueue("events.lifecycle", {})
        yield* Effect.sleep("1 second")
        expect((yield* call("GET", `${events}/${manual.body.id}`, { key })).body.status).toBe("DRAFT")
      })
  )

  it.effect(
    "retention drops monthly tap partitions older than the kept months, and the partition job makes new ones",
    () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        const sql = yield* SqlClient.SqlClient
        yield* sql`create table taps_2001_01 partition of taps for values from ('2001-01-01') to ('2001-02-01')`
        const partitions = sql<{ name: string }>`
        select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent where p.relname = 'taps' order by 1`.pipe(
          Effect.map((rows) => rows.map((row) => row.name)),
          Effect.orDie
        )
        expect(yield* partitions).toContain("taps_2001_01")
        yield* jobs.enqueue("taps.retention", {})
        const after = yield* until(partitions, (names) => !names.includes("taps_2001_01"))
        expect(after).not.toContain("taps_2001_01")
        expect(after).toContain("taps_default")
        const month = new Date().toISOString().slice(0, 7).replace("-", "_")
        expect(after).toContain(`taps_${month}`)
        // The partition job recreates an upcoming month that is missing (empty, so safe to drop here).
        const next = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 2, 1))
        const upcoming = `taps_${next.toISOString().slice(0, 7).replace("-", "_")}`
        expect(after).toContain(upcoming)
        yield* sql`drop table ${sql(upcoming)}`
        expect(yield* partitions).not.toContain(upcoming)
        yield* jobs.enqueue("taps.partitions", {})
        expect(yield* until(partitions, (names) => names.includes(upcoming))).toContain(upcoming)
        expect((yield* jobs.schedules).map((s) => s.queue).sort()).toEqual([
          "analytics.rollup",
          "auth.prune",
          "events.lifecycle",
          "exports.expire",
          "registrants.retention",
          "registrations.prune",
          "taps.devices",
          "taps.partitions",
          "taps.retention",
          "trash.purge",
          "uploads.expire",
          "webhooks.prune"
        ])
      })
  )

  it.effect("a platform ADMIN lists failed jobs and redrives them", () =>
    Effect.gen(function* () {
      const jobs = yield* Jobs
      const admin = yield* bootstrapKey("jobs-admin@example.com")
      let healthy = false
      yield* jobs.work(
        "test.flaky",
        { retryLimit: 0, retryDelaySeconds: 1, backoff: false, concurrency: 1 },
        () => (healthy ? Effect.void : Effect.fail(new Error("mail server down")))
      )
      const id = yield* jobs.enqueue("test.flaky", { to: "x@example.com" })
      const failed = yield* until(
        Effect.map(
          call("GET", "/api/v1/infrastructure/jobs/failed", { key: admin }),
          (r) => r.body.items as Array<{ id: string; error: string }>
        ),
        (items) => items.some((job) => job.id === id)
      )
      expect(failed.find((job) => job.id === id)?.error).toContain("mail server down")
      healthy = true
      const retried = yield* call("POST", `/api/v1/infrastructure/jobs/${id}/retry`, { key: admin })
      expect(retried.body).toEqual({ retried: true })
      const later = yield* until(
        Effect.map(
          call("GET", "/api/v1/infrastructure/jobs/failed", { key: admin }),
          (r) => r.body.items as Array<{ id: string }>
        ),
        (items) => !items.some((job) => job.id === id)
      )
      expect(later.some((job) => job.id === id)).toBe(false)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "the daily prune removes spent sign-in links, setup tokens and long-ended sessions, and keeps the rest",
    () =>
      Effect.gen(function* () {
        const jobs = yield* Jobs
        const sql = yield* SqlClient.SqlClient
        const tag = `prune${Date.now()}`
        const randomHash = sql`sha256(gen_random_uuid()::text::bytea)`
        const tokenHash = (name: string) => sql`sha256(convert_to(${`${tag}-${name}`}, 'UTF8'))`
        const signIn = (name: string, expiredAgo: string, usedAgo: string | null) => sql`
        insert into email_sign_ins (email_key, email, token_hash, code_hash, link_expires_at, code_expires_at, used_at)
        values (${`${tag}-${name}`}, ${`${name}@example.com`}, ${randomHash}, ${randomHash},
          now() - ${expiredAgo}::interval, now() - ${expiredAgo}::interval,
          ${usedAgo === null ? null : sql`now() - ${usedAgo}::interval`})`
        yield* signIn("stale", "2 days", null)
        yield* signIn("used", "-1 hour", "2 days")
        yield* signIn("fresh", "-1 hour", null)
        yield* signIn("justused", "-1 hour", "1 hour")
        const token = (name: string, expiredAgo: string) => sql`
        insert into setup_tokens (token_hash, expires_at, issued_by)
        values (${tokenHash(name)}, now() - ${expiredAgo}::interval, 'cli')`
        yield* token("stale", "2 days")
        yield* token("fresh", "-1 hour")
        const [user] = yield* sql<{ id: string }>`
        insert into users (email, name) values (${`${tag}@example.com`}, 'Prune') returning id`
        const session = (name: string, expiresAgo: string, revokedAgo: string | null) => sql`
        insert into sessions (user_id, method, access_hash, access_expires_at, refresh_hash, csrf_hash,
          expires_at, revoked_at, user_agent)
        values (${user!.id}, 'passkey', ${randomHash}, now(), ${randomHash}, ${randomHash},
          now() - ${expiresAgo}::interval, ${revokedAgo === null ? null : sql`now() - ${revokedAgo}::interval`},
          ${name})`
        yield* session("expired-long-ago", "31 days", null)
        yield* session("revoked-long-ago", "-1 day", "31 days")
        yield* session("expired-recently", "1 day", null)
        yield* session("live", "-1 day", null)

        const remaining = Effect.all({
          signIns: sql<{
            emailKey: string
          }>`select email_key from email_sign_ins where email_key like ${`${tag}-%`}`,
          tokens: sql<{ n: number }>`
          select count(*)::int as n from setup_tokens
          where token_hash in (${tokenHash("stale")}, ${tokenHash("fresh")})`,
          sessions: sql<{ userAgent: string }>`select user_agent from sessions where user_id = ${user!.id}`
        }).pipe(Effect.orDie)
        yield* jobs.enqueue("auth.prune", {})
        // Waits for every table: a test that waited on one and read the others raced the prune in CI.
        const after = yield* until(
          remaining,
          (r) => r.signIns.length === 2 && r.tokens[0]!.n === 1 && r.sessions.length === 2
        )
        expect(after.signIns.map((r) => r.emailKey.slice(tag.length + 1)).sort()).toEqual([
          "fresh",
          "justused"
        ])
        expect(after.tokens[0]!.n).toBe(1)
        expect(after.sessions.map((r) => r.userAgent).sort()).toEqual(["expired-recently", "live"])
      })
  )
})
