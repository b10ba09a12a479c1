import { describe, expect, it, layer } from "@effect/vitest"
import { startPostgresServer } from "@tapline/testing/postgresServer"
import { startRedisServer } from "@tapline/testing/redisServer"
import { type SmtpPeer, startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Context, Effect, Layer } from "effect"
import { Webhook } from "standardwebhooks"
import * as Alerts from "../src/Alerts/Alerts.js"
import { step } from "../src/Alerts/Alerts.js"
import { type CaptureServer, startCaptureServer } from "./support/CaptureServer.js"
import { harness, request, TAP_DOMAIN, TapServer } from "./support/HotPathHarness.js"
import { show, tenant } from "./support/TapFixtures.js"

/*
 * Issue 15, alerts: rules evaluated inside Tapline fire once a condition has held for ALERT_FOR, reach every
 * channel of ALERT_CHANNELS (Slack, a signed webhook, email over SMTP) once, and say when they recover. The
 * outages are real: a PostgreSQL and a Redis of the test's own, stopped and started under a running server.
 */

const SECRET = `whsec_${Buffer.from("alert-signing-secret-for-the-test").toString("base64")}`
const OPS = "ops@tapline.test"

class Peers extends Context.Tag("test/AlertPeers")<
  Peers,
  {
    readonly pg: Awaited<ReturnType<typeof startPostgresServer>>
    readonly redis: Awaited<ReturnType<typeof startRedisServer>>
    readonly receiver: CaptureServer
    readonly smtp: SmtpPeer
  }
>() {}

interface Said {
  readonly channel: "slack" | "webhook"
  readonly rule: string
  readonly status: string
  readonly text: string
}

/** What the channels were told, decoded: Slack's text, the webhook's verified body. */
const said = (receiver: CaptureServer): Array<Said> =>
  receiver.requests.map((request) => {
    if (request.url === "/slack") {
      const body = JSON.parse(request.body) as { text: string }
      const rule = /Rule (\w+)/.exec(request.body)?.[1] ?? ""
      return { channel: "slack" as const, rule, status: body.text.split(":")[0]!, text: request.body }
    }
    const message = new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>) as {
      type: string
      data: { rule: string }
    }
    return { channel: "webhook" as const, rule: message.data.rule, status: message.type, text: request.body }
  })

const until = (what: string, check: () => boolean, timeoutMs = 60_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting until ${what}`)
      yield* Effect.sleep("100 millis")
    }
  })

const withPeers = Layer.unwrapScoped(
  Effect.gen(function* () {
    const pg = yield* Effect.acquireRelease(
      Effect.promise(() => startPostgresServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    const redis = yield* Effect.acquireRelease(
      Effect.promise(() => startRedisServer()),
      (server) => Effect.promise(() => server.dispose())
    )
    const receiver = yield* Effect.acquireRelease(
      Effect.promise(() => startCaptureServer()),
      (server) => Effect.promise(() => server.close())
    )
    const smtp = yield* Effect.acquireRelease(
      Effect.promise(() => startSmtpPeer()),
      (server) => Effect.promise(() => server.stop())
    )
    receiver.fallback = () => ({ status: 204 })
    const env = {
      REDIS_URL: redis.url,
      ALERT_CHANNELS: `slack:${receiver.url}/slack, webhook:${receiver.url}/hook email:${OPS}`,
      ALERT_WEBHOOK_SECRET: SECRET,
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: "Tapline <alerts@tapline.test>",
      ALERT_INTERVAL: "200 millis",
      ALERT_FOR: "1 second",
      ALERT_LAG_THRESHOLD: "3 seconds",
      TAP_WRITER_BATCH: "50"
    }
    const server = harness({ databaseUrl: pg.url, env })
    return Layer.merge(
      Alerts.layer({ writer: true, recorder: true }).pipe(Layer.provideMerge(server)),
      Layer.succeed(Peers, { pg, redis, receiver, smtp })
    )
  })
)

describe("alert state", () => {
  const timing = { holdForMs: 1000, repeatMs: 10_000 }
  it("a blip shorter than ALERT_FOR says nothing; a held condition fires once, reminds, and resolves once", () => {
    let state = step({ status: "ok" }, true, 0, timing)
    expect(state.say).toBe(null)
    state = step(state.next, false, 500, timing)
    expect(state).toEqual({ next: { status: "ok" }, say: null })
    const says: Array<string | null> = []
    let current = state.next
    for (const [firing, at] of [
      [true, 1000],
      [true, 1500],
      [true, 2000],
      [true, 3000],
      [true, 11_999],
      [true, 12_000],
      [true, 13_000],
      [false, 14_000],
      [false, 15_000]
    ] as const) {
      const next = step(current, firing, at, timing)
      says.push(next.say)
      current = next.next
    }
    expect(says).toEqual([null, null, "firing", null, null, "reminder", null, "resolved", null])
  })
})

describe("alerts under real outages", () => {
  layer(withPeers, { excludeTestServices: true, timeout: 240_000 })((it) => {
    it.effect(
      "PostgreSQL stopped: the writer, lag and PostgreSQL rules fire on every channel once, and recover",
      () =>
        Effect.gen(function* () {
          const { pg, receiver, smtp } = yield* Peers
          const { port } = yield* TapServer
          const t = yield* tenant({ events: [{ windows: show("alert"), bands: ["AL-1", "AL-2"] }] })
          const host = `${t.slug}.${TAP_DOMAIN}`
          expect((yield* request(port, "/e?bandId=AL-1", { host })).status).toBe(302)
          yield* Effect.sleep("1 second")
          expect(said(receiver)).toEqual([])

          yield* Effect.promise(() => pg.stop("fast"))
          // Taps keep being served (from Redis) and wait in the stream.
          for (let i = 0; i < 5; i++)
            expect((yield* request(port, "/e?bandId=AL-2", { host })).status).toBe(302)
          const firing = (rule: string) => () =>
            said(receiver).filter((s) => s.rule === rule && /FIRING|alert.firing/.test(s.status)).length === 2
          yield* until("writer_not_writing fires", firing("writer_not_writing"))
          yield* until("pipeline_lag fires", firing("pipeline_lag"))
          yield* until("postgres_unreachable fires", firing("postgres_unreachable"))
          // Email goes straight to SMTP: the job queue is in the PostgreSQL that is down.
          const mail = yield* Effect.promise(() => smtp.lastMailTo(OPS, 30_000))
          expect(mail.subject).toMatch(/^\[Tapline\] FIRING: /)

          // Held for a while longer: said once, not at every evaluation.
          const before = receiver.requests.length
          yield* Effect.sleep("2 seconds")
          expect(said(receiver).filter((s) => s.rule === "writer_not_writing")).toHaveLength(2)
          expect(receiver.requests.length).toBe(before)

          yield* Effect.promise(() => pg.start())
          const resolved = (rule: string) => () =>
            said(receiver).filter((s) => s.rule === rule && /RESOLVED|alert.resolved/.test(s.status))
              .length === 2
          yield* until("writer_not_writing resolves", resolved("writer_not_writing"))
          yield* until("pipeline_lag resolves", resolved("pipeline_lag"))
          yield* until("postgres_unreachable resolves", resolved("postgres_unreachable"))
          const slack = said(receiver).find((s) => s.channel === "slack" && s.rule === "pipeline_lag")!
          expect(slack.text).toContain("docs/runbook.md")
          yield* until("the subjects say resolved", () =>
            smtp.received.some((m) => m.subject?.startsWith("[Tapline] RESOLVED: ") === true)
          )
          receiver.requests.length = 0
        })
    )

    it.effect("Redis stopped: the Redis rule fires and recovers", () =>
      Effect.gen(function* () {
        const { redis, receiver } = yield* Peers
        yield* Effect.promise(() => redis.stop())
        const saidOf = (status: RegExp) => () =>
          said(receiver).filter((s) => s.rule === "redis_unreachable" && status.test(s.status)).length === 2
        yield* until("redis_unreachable fires", saidOf(/FIRING|alert.firing/))
        yield* Effect.promise(() => redis.start())
        yield* until("redis_unreachable resolves", saidOf(/RESOLVED|alert.resolved/))
      })
    )
  })
})
