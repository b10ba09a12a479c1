import { describe, expect, layer } from "@effect/vitest"
import type { UserId } from "@tapline/domain"
import { Effect } from "effect"
import { Sessions } from "../src/Auth/Sessions.js"
import { TapRecorder } from "../src/Taps/TapRecorder.js"
import { bootstrapKey, call, createTenant, liveEvent, ok, type Tenant } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import { tapOf } from "./support/TapFixtures.js"

/*
 * A live stream outlives the request that authenticated it, so it re-checks the caller at every tick: once
 * the API key is revoked, the session signs out or the member is removed, it ends at the next tick (an
 * `ended` message, then the end of the body). Each API key or user holds at most LIVE_STREAMS_PER_PRINCIPAL
 * open streams; the next gets 429 with Retry-After until one closes. Over HTTP against the whole stack;
 * progress is counted in ticks (one `counts` message each), never in seconds.
 */

interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id: string
}

interface OpenStream {
  readonly status: number
  readonly headers: Headers
  readonly events: ReadonlyArray<SseEvent>
  readonly ended: () => boolean
  /** Resolves once `condition` holds (checked as each message arrives and when the body ends). */
  readonly until: (condition: () => boolean) => Effect.Effect<void>
  readonly close: () => void
}

const parse = (block: string): SseEvent => {
  const field = (name: string) =>
    block
      .split("\n")
      .find((line) => line.startsWith(`${name}: `))
      ?.slice(name.length + 2) ?? ""
  return { event: field("event"), data: field("data"), id: field("id") }
}

/** A stream as EventSource reads it: messages parsed as they arrive, in the background. */
const openStream = (path: string, headers: Record<string, string>) =>
  Effect.flatMap(AdminServer, ({ url }) =>
    Effect.promise(async (): Promise<OpenStream> => {
      const controller = new AbortController()
      const response = await fetch(`${url}${path}`, { headers, signal: controller.signal })
      const events: Array<SseEvent> = []
      const waiters = new Set<() => void>()
      let ended = false
      const notify = () => {
        for (const waiter of waiters) waiter()
      }
      if (response.status !== 200) {
        await response.text()
        ended = true
      } else {
        void (async () => {
          const reader = response.body!.getReader()
          const decoder = new TextDecoder()
          let buffer = ""
          try {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) break
              buffer += decoder.decode(value, { stream: true })
              for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
                events.push(parse(buffer.slice(0, end)))
                buffer = buffer.slice(end + 2)
                notify()
              }
            }
          } catch {
            // Aborted by the test.
          }
          ended = true
          notify()
        })()
      }
      const until = (condition: () => boolean) =>
        Effect.async<void>((resume) => {
          const check = () => {
            if (!condition()) return
            waiters.delete(check)
            resume(Effect.void)
          }
          waiters.add(check)
          check()
          return Effect.sync(() => waiters.delete(check))
        })
      return {
        status: response.status,
        headers: response.headers,
        events,
        ended: () => ended,
        until,
        close: () => controller.abort()
      }
    })
  )

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const ticks = (events: ReadonlyArray<SseEvent>, from = 0) =>
  events.slice(from).filter((e) => e.event === "counts").length

/** More ticks than this after the revocation means the stream did not end. */
const TOO_MANY_TICKS = 4

/**
 * Opens a stream, waits for its first tick, runs `revoke` (acknowledged when it returns), and follows the
 * stream until it ends or has run TOO_MANY_TICKS ticks past the acknowledgement.
 */
const afterRevocation = <E, R>(
  path: string,
  headers: Record<string, string>,
  revoke: Effect.Effect<unknown, E, R>
) =>
  Effect.gen(function* () {
    const stream = yield* openStream(path, headers)
    expect(stream.status).toBe(200)
    yield* stream.until(() => ticks(stream.events) > 0)
    yield* revoke
    const acknowledged = stream.events.length
    yield* stream.until(() => stream.ended() || ticks(stream.events, acknowledged) > TOO_MANY_TICKS)
    stream.close()
    return {
      ended: stream.ended(),
      last: stream.events.at(-1)?.event,
      // The tick already under way when the revocation landed may still arrive; no later one.
      atMostOneTickMore: ticks(stream.events, acknowledged) <= 1
    }
  })

const signIn = (userId: UserId) =>
  Effect.flatMap(Sessions, (sessions) =>
    sessions.create({ userId, method: "test", ip: "203.0.113.7", userAgent: "tapline-test" })
  ).pipe(Effect.provide(Sessions.Default), Effect.orDie)

const member = (tenant: Tenant, role: "VIEWER" | "EDITOR") =>
  Effect.gen(function* () {
    const added = yield* ok(
      yield* call("POST", `/api/v1/organizations/${tenant.orgId}/members`, {
        key: tenant.keys.OWNER,
        body: { email: `live-${Math.random().toString(36).slice(2, 9)}@example.com`, role }
      }),
      201
    )
    const userId = added.body.userId as UserId
    return { userId, session: yield* signIn(userId) }
  })

const cookie = (accessToken: string, csrf?: string) => ({
  cookie: `tapline_session=${accessToken}`,
  ...(csrf === undefined ? {} : { "x-csrf-token": csrf })
})

const ended = { ended: true, last: "ended", atMostOneTickMore: true }

describe("live streams and revocation", () => {
  layer(adminHarness({ QUOTA_LIVE_STREAMS_PER_MINUTE: "1000" }), {
    excludeTestServices: true,
    timeout: 120_000
  })((it) => {
    it.effect("a stream ends at the next tick after its API key is revoked", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("live-revoke@example.com"))
        const { base } = yield* liveEvent(tenant, [])
        const created = yield* ok(
          yield* call("POST", `/api/v1/organizations/${tenant.orgId}/api-keys`, {
            key: tenant.keys.OWNER,
            body: { name: "wall screen", role: "VIEWER" }
          }),
          201
        )
        const revoke = call(
          "DELETE",
          `/api/v1/organizations/${tenant.orgId}/api-keys/${created.body.key.id}`,
          {
            key: tenant.keys.OWNER
          }
        ).pipe(Effect.flatMap((reply) => ok(reply, 200, "revoke")))
        expect(yield* afterRevocation(`${base}/live`, bearer(created.body.secret), revoke)).toEqual(ended)
      })
    )

    it.effect(
      "a reconnect with Last-Event-ID resumes where it left: no tap twice, none missed, seconds unbroken",
      () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey("live-resume@example.com"))
          const { base, eventId } = yield* liveEvent(tenant, [])
          const recorder = yield* TapRecorder
          const record = (bands: ReadonlyArray<string>) =>
            Effect.sync(() => {
              for (const band of bands)
                recorder.record(tapOf({ orgId: tenant.orgId, eventIds: [eventId] }, band))
            })
          const bandsOf = (events: ReadonlyArray<SseEvent>) =>
            events
              .filter((e) => e.event === "tap")
              .map((e) => (JSON.parse(e.data) as { bandUid: string }).bandUid)
          const secondsOf = (events: ReadonlyArray<SseEvent>) =>
            events
              .filter((e) => e.event === "taps")
              .map((e) => (JSON.parse(e.data) as { second: number }).second)

          const first = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
          expect(first.status).toBe(200)
          yield* first.until(() => ticks(first.events) > 0)
          yield* record(["A-1", "A-2", "A-3"])
          yield* first.until(() => bandsOf(first.events).length === 3)
          // The viewer's position is the id of the last tick it read whole (the tick after the taps).
          const seenTaps = first.events.length
          yield* first.until(() => ticks(first.events, seenTaps) > 0)
          first.close()
          const lastId = first.events.findLast((e) => e.event === "counts")!.id
          const lastSecond = Math.max(...secondsOf(first.events))

          // Away: three more taps arrive.
          yield* record(["B-1", "B-2", "B-3"])
          const again = yield* openStream(`${base}/live`, {
            ...bearer(tenant.keys.VIEWER),
            "last-event-id": lastId
          })
          expect(again.status).toBe(200)
          yield* again.until(() => bandsOf(again.events).length >= 3)
          yield* again.until(() => ticks(again.events) > 1)
          again.close()
          expect(bandsOf(first.events)).toEqual(["A-1", "A-2", "A-3"])
          expect(bandsOf(again.events)).toEqual(["B-1", "B-2", "B-3"])
          // The per-second counts pick up at most RESEND_SECONDS back from where the first stream was, unbroken.
          const resumed = secondsOf(again.events)
          expect(resumed[0]).toBeLessThanOrEqual(lastSecond + 1)
          const distinct = [...new Set(resumed)].sort((a, b) => a - b)
          expect(distinct.at(-1)! - distinct[0]! + 1).toBe(distinct.length)
        })
    )

    it.effect("a stream ends at the next tick after its session signs out", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("live-signout@example.com"))
        const { base } = yield* liveEvent(tenant, [])
        const { session } = yield* member(tenant, "VIEWER")
        const signOut = call("POST", "/api/v1/auth/sign-out", {
          headers: cookie(session.accessToken, session.csrfToken)
        }).pipe(Effect.flatMap((reply) => ok(reply, 204, "sign out")))
        expect(yield* afterRevocation(`${base}/live`, cookie(session.accessToken), signOut)).toEqual(ended)
      })
    )

    it.effect("a stream ends at the next tick after its member is removed", () =>
      Effect.gen(function* () {
        const tenant = yield* createTenant(yield* bootstrapKey("live-removed@example.com"))
        const { base } = yield* liveEvent(tenant, [])
        const { userId, session } = yield* member(tenant, "EDITOR")
        const remove = call("DELETE", `/api/v1/organizations/${tenant.orgId}/members/${userId}`, {
          key: tenant.keys.OWNER
        }).pipe(Effect.flatMap((reply) => ok(reply, 204, "remove member")))
        expect(yield* afterRevocation(`${base}/live`, bearer(session.accessToken), remove)).toEqual(ended)
      })
    )

    it.effect(
      "the sixth open stream of one caller gets 429 with Retry-After; after one closes, one opens",
      () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey("live-limit@example.com"))
          const { base } = yield* liveEvent(tenant, [])
          const open: Array<OpenStream> = []
          for (let i = 0; i < 5; i++) {
            const stream = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
            expect(stream.status).toBe(200)
            open.push(stream)
          }
          const sixth = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
          expect(sixth.status).toBe(429)
          expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
          // Another caller of the same organisation has places of its own.
          const other = yield* openStream(`${base}/live`, bearer(tenant.keys.EDITOR))
          expect(other.status).toBe(200)
          other.close()

          open.pop()!.close()
          // The place is given back when the server sees the client go: ask until it has.
          let again = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
          for (let attempt = 0; again.status === 429 && attempt < 100; attempt++) {
            yield* Effect.sleep("100 millis")
            again = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
          }
          expect(again.status).toBe(200)
          yield* again.until(() => ticks(again.events) > 0)
          again.close()
          for (const stream of open) stream.close()
        })
    )
  })

  layer(adminHarness({ QUOTA_LIVE_STREAMS_PER_MINUTE: "3" }), { excludeTestServices: true, timeout: 60_000 })(
    (it) => {
      it.effect("an organisation opens at most its quota of streams a minute", () =>
        Effect.gen(function* () {
          const tenant = yield* createTenant(yield* bootstrapKey("live-quota@example.com"))
          const { base } = yield* liveEvent(tenant, [])
          for (let i = 0; i < 3; i++) {
            const stream = yield* openStream(`${base}/live`, bearer(tenant.keys.VIEWER))
            expect(stream.status).toBe(200)
            stream.close()
          }
          const refused = yield* openStream(`${base}/live`, bearer(tenant.keys.OWNER))
          expect(refused.status).toBe(429)
          expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
        })
      )
    }
  )
})
