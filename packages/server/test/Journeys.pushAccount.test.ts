import * as Crypto from "node:crypto"
import * as Http2 from "node:http2"
import type { AddressInfo } from "node:net"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import type { Organization } from "@tapline/domain"
import { type SmtpPeer, startSmtpPeer } from "@tapline/testing/smtpPeer"
import { makeTestCertificates } from "@tapline/testing/testCa"
import { ConfigProvider, Effect, Layer, Logger, Redacted, type Scope } from "effect"
import { afterAll } from "vitest"
import { AppConfig } from "../src/Config/AppConfig.js"
import { JourneyMessageRepository } from "../src/Journeys/JourneyMessageRepository.js"
import * as JourneySender from "../src/Journeys/JourneySender.js"
import * as FcmPush from "../src/Push/FcmPush.js"
import type { PushMessage, PushShape } from "../src/Push/Push.js"
import * as PushProviders from "../src/Push/providers.js"
import * as WebPush from "../src/Push/WebPush.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { type CaptureServer, type Reply, startCaptureServer } from "./support/CaptureServer.js"
import { smsPeer } from "./support/ChannelPeers.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { serviceHarnessWith } from "./support/ServiceHarness.js"

/*
 * A revoked push account, end to end through the journeys' sender: the real FCM and APNs providers behind
 * PUSH_PROVIDERS=fcm,apns (the runtime's registry and failover, counting into the runtime's metrics), against
 * loopback peers that refuse the account the documented ways: FCM's token exchange 401 invalid_client, then
 * messages:send 403 PERMISSION_DENIED; APNs 403 InvalidProviderToken. That is the account, not the device:
 * the devices stay, the messages wait (queued, never dead), each refusal is counted as outcome `unauthorized`
 * with a warning naming the provider, while the same organisation's SMS and email (a real SMTP peer) and the
 * other push provider go out. Once the peers accept again, the held messages are delivered. Then each
 * provider's answers one by one: which refusals are the account's, and which the device's or the message's.
 */

const smtp: SmtpPeer = await startSmtpPeer()
const sms = smsPeer()

/** FCM's hosts: Google's token endpoint and messages:send, refusing as `fcm.mode` says. */
const fcm = {
  peer: (await startCaptureServer()) as CaptureServer,
  mode: "accept" as "accept" | "refuse-token" | "refuse-send",
  sent: [] as Array<string>
}
const json = (status: number, body: unknown): Reply => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body)
})
let issued = 0
fcm.peer.fallback = (request) => {
  if (request.url === "/token") {
    if (fcm.mode === "refuse-token")
      return json(401, { error: "invalid_client", error_description: "The OAuth client was disabled." })
    return json(200, { access_token: `ya29.account-${++issued}`, expires_in: 3600, token_type: "Bearer" })
  }
  if (fcm.mode === "refuse-send")
    return json(403, {
      error: {
        code: 403,
        message: "Permission 'cloudmessaging.messages.create' denied on resource",
        status: "PERMISSION_DENIED"
      }
    })
  fcm.sent.push((JSON.parse(request.body) as { message: { token: string } }).message.token)
  return json(200, { name: `projects/tapline-account/messages/0:${fcm.sent.length}` })
}

/** APNs over HTTP/2 with a CA of the test's, refusing the provider token while `apns.refusing`. */
const certificates = makeTestCertificates("apns")
const apns = {
  server: Http2.createSecureServer({ key: certificates.key, cert: certificates.cert }),
  refusing: false,
  sent: [] as Array<string>,
  sessions: new Set<Http2.ServerHttp2Session>()
}
apns.server.on("session", (session) => {
  apns.sessions.add(session)
  session.on("close", () => apns.sessions.delete(session))
})
apns.server.on("stream", (stream, headers) => {
  stream.resume()
  stream.on("end", () => {
    if (apns.refusing) {
      stream.respond({ ":status": 403, "content-type": "application/json" })
      return stream.end(JSON.stringify({ reason: "InvalidProviderToken" }))
    }
    apns.sent.push(String(headers[":path"]).slice("/3/device/".length))
    stream.respond({ ":status": 200, "apns-id": String(headers["apns-id"] ?? Crypto.randomUUID()) })
    stream.end()
  })
})
await new Promise<void>((resolve) => apns.server.listen(0, "127.0.0.1", resolve))

afterAll(async () => {
  for (const session of apns.sessions) session.destroy()
  await new Promise((resolve) => apns.server.close(resolve))
  await fcm.peer.close()
  await smtp.stop()
})

const account = Crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey
const apnsKey = Crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey
/** The runtime's push variables, for its registry (PushProviders.layerConfig) to read. */
const pushEnv = {
  PUSH_PROVIDERS: "fcm,apns",
  PUSH_TIMEOUT: "5 seconds",
  PUSH_FCM_SERVICE_ACCOUNT: JSON.stringify({
    type: "service_account",
    project_id: "tapline-account",
    client_email: "push@tapline-account.iam.gserviceaccount.com",
    private_key: account.export({ type: "pkcs8", format: "pem" }),
    private_key_id: "kid-account"
  }),
  PUSH_FCM_TOKEN_URL: `${fcm.peer.url}/token`,
  PUSH_FCM_API_URL: fcm.peer.url,
  PUSH_APNS_KEY: apnsKey.export({ type: "pkcs8", format: "pem" }) as string,
  PUSH_APNS_KEY_ID: "ABC123DEFG",
  PUSH_APNS_TEAM_ID: "DEF123GHIJ",
  PUSH_APNS_TOPIC: "test.tapline.app",
  PUSH_APNS_URL: `https://127.0.0.1:${(apns.server.address() as AddressInfo).port}`,
  PUSH_APNS_CA: certificates.ca
}

const pushLayer = PushProviders.layerConfig.pipe(
  Layer.provide(AppConfig.layer),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(pushEnv)))))
)

const harness = Layer.mergeAll(JourneyMessageRepository.Default, RateLimiter.layer).pipe(
  Layer.provideMerge(
    serviceHarnessWith({
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: "Tapline <journeys@tapline.test>",
      EMAIL_TIMEOUT: "5 seconds"
    })
  )
)

const settings = ConfigProvider.fromMap(
  new Map([
    ["JOURNEY_POLL_INTERVAL", "10 millis"],
    ["JOURNEY_SEND_CONCURRENCY", "2"],
    // Long enough that nothing comes due again by itself: the test moves due_at when the peers accept.
    ["JOURNEY_RETRY_DELAYS", "1 hour,1 hour,1 hour"]
  ])
)

/** What the sender logged at WARN and above: the message and its annotations. */
const warnings: Array<string> = []
const collect = Logger.make(({ annotations, logLevel, message }) => {
  if (logLevel._tag !== "Warning" && logLevel._tag !== "Error") return
  warnings.push(`${String(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
})

let sequence = 0
const HEX = (n: number) => n.toString(16).padStart(64, "a")

interface Person {
  readonly consent: "email" | "sms" | "push"
  readonly email?: string
  readonly phone?: string
  readonly devices?: ReadonlyArray<{ readonly kind: "fcm" | "apns"; readonly token: string }>
}

/** One organisation's journey on `channel` and a message due now for each person. */
const journeyFor = (
  organization: Organization,
  channel: "email" | "sms" | "push",
  people: ReadonlyArray<Person>
) =>
  Effect.gen(function* () {
    const organizationId = organization.id
    const sql = yield* SqlClient.SqlClient
    const event = yield* makeEvent(organization)
    yield* sql`update events set fallback_url = 'https://fest.example/programme' where id = ${event.id}`
    const [journey] = yield* sql<{ id: string }>`
      insert into journeys (organization_id, event_id, name, trigger, channel, subject, body)
      values (${organizationId}, ${event.id}, 'J', 'first_tap', ${channel}, 'Doors open', 'Hi {{name}}')
      returning id`
    for (const person of people) {
      const [band] = yield* sql<{ id: string }>`
        insert into bands (organization_id, event_id, band_uid)
        values (${organizationId}, ${event.id}, ${`PA-${process.pid}-${++sequence}`}) returning id`
      const [registrant] = yield* sql<{ id: string }>`
        insert into registrants (organization_id, band_id, name, email, phone, source)
        values (${organizationId}, ${band!.id}, 'Ada', ${person.email ?? null}, ${person.phone ?? null}, 'api')
        returning id`
      yield* sql`insert into registrant_consents (registrant_id, channel, granted, at, source)
        values (${registrant!.id}, ${person.consent}, true, now(), 'api')`
      for (const device of person.devices ?? [])
        yield* sql`insert into registrant_push_subscriptions (organization_id, registrant_id, kind, address)
          values (${organizationId}, ${registrant!.id}, ${device.kind}, ${device.token})`
      yield* sql`
        insert into journey_messages (organization_id, journey_id, band_id, due_at, unsubscribe_token)
        values (${organizationId}, ${journey!.id}, ${band!.id}, now() - interval '1 second', md5(random()::text))`
    }
    return journey!.id
  }).pipe(Effect.orDie)

const statuses = (journeyId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ status: string; attempts: number; provider: string | null; lastError: string | null }>`
      select status, attempts, provider, last_error from journey_messages where journey_id = ${journeyId}
      order by created_at, id`
  ).pipe(Effect.orDie)

/** Rounds until nothing is due now (sent, or queued for later). */
const drain = (sender: Effect.Effect.Success<typeof JourneySender.make>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200; i++) {
      const taken = yield* sender.round
      yield* sender.idle
      if (taken === 0) return
    }
    return yield* Effect.dieMessage("the queue did not drain")
  }).pipe(Effect.provide(Logger.add(collect)))

const pushCount = (provider: string, outcome: string) =>
  Effect.flatMap(Metrics, (metrics) =>
    Effect.promise(async () => {
      const values = (await metrics.registry.getSingleMetric("tapline_push_total")?.get())?.values ?? []
      return values
        .filter((v) => v.labels.provider === provider && v.labels.outcome === outcome)
        .reduce((sum, v) => sum + v.value, 0)
    })
  )

layer(harness, { excludeTestServices: true, timeout: 30_000 })("a revoked push account", (it) => {
  describe("FCM then APNs refuse our credential", () => {
    it.scoped(
      "devices kept, messages held (never dead), SMS and email go on; all delivered once accepted",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          // Built here, beside the harness's own Push (none configured): the sender is given this one.
          const push = yield* Layer.build(pushLayer)
          const sender = yield* Effect.withConfigProvider(
            Effect.provide(JourneySender.make, Layer.merge(sms.layer, Layer.succeedContext(push))),
            settings
          )
          const organization = yield* makeOrganization()
          const fcmToken = (n: number) => `fcm-account-${process.pid}-${n}`
          const apnsToken = (n: number) => HEX(process.pid * 100 + n)

          // 1. FCM's service account is disabled: its token exchange answers 401. APNs accepts.
          fcm.mode = "refuse-token"
          const push1 = yield* journeyFor(organization, "push", [
            { consent: "push", devices: [{ kind: "fcm", token: fcmToken(1) }] },
            { consent: "push", devices: [{ kind: "apns", token: apnsToken(1) }] }
          ])
          const sms1 = yield* journeyFor(organization, "sms", [{ consent: "sms", phone: "+447700900101" }])
          const email1 = yield* journeyFor(organization, "email", [
            { consent: "email", email: `ada-${process.pid}-1@example.com` }
          ])
          yield* drain(sender)
          const [heldFcm, sentApns] = yield* statuses(push1)
          expect(heldFcm).toMatchObject({ status: "queued", attempts: 1 })
          expect(heldFcm!.lastError).toContain("fcm answered 401")
          expect(sentApns).toMatchObject({ status: "sent", provider: "apns" })
          expect(apns.sent).toEqual([apnsToken(1)])
          expect(yield* statuses(sms1)).toMatchObject([{ status: "sent" }])
          expect(yield* statuses(email1)).toMatchObject([{ status: "sent" }])
          expect(smtp.received.some((m) => JSON.stringify(m.to).includes(`ada-${process.pid}-1@`))).toBe(true)
          expect(yield* pushCount("fcm", "unauthorized")).toBeGreaterThanOrEqual(1)
          expect(
            warnings.some((w) => w.includes("refused our credentials") && w.includes('"provider":"fcm"'))
          ).toBe(true)

          // 2. FCM's token is issued but the account lacks the permission (403); APNs refuses the provider token.
          fcm.mode = "refuse-send"
          apns.refusing = true
          yield* sql`update journey_messages set due_at = now() - interval '1 second' where journey_id = ${push1}
          and status = 'queued'`
          const push2 = yield* journeyFor(organization, "push", [
            { consent: "push", devices: [{ kind: "fcm", token: fcmToken(2) }] },
            { consent: "push", devices: [{ kind: "apns", token: apnsToken(2) }] }
          ])
          const sms2 = yield* journeyFor(organization, "sms", [{ consent: "sms", phone: "+447700900102" }])
          const email2 = yield* journeyFor(organization, "email", [
            { consent: "email", email: `ada-${process.pid}-2@example.com` }
          ])
          yield* drain(sender)
          expect((yield* statuses(push1))[0]).toMatchObject({ status: "queued", attempts: 2 })
          const held = yield* statuses(push2)
          expect(held.map((m) => [m.status, m.attempts])).toEqual([
            ["queued", 1],
            ["queued", 1]
          ])
          expect(held[0]!.lastError).toContain("PERMISSION_DENIED")
          expect(held[1]!.lastError).toContain("InvalidProviderToken")
          expect(yield* statuses(sms2)).toMatchObject([{ status: "sent" }])
          expect(yield* statuses(email2)).toMatchObject([{ status: "sent" }])
          expect(yield* pushCount("apns", "unauthorized")).toBeGreaterThanOrEqual(1)
          expect(
            warnings.some((w) => w.includes("refused our credentials") && w.includes('"provider":"apns"'))
          ).toBe(true)
          // Not one device was taken for gone.
          const devices = yield* sql<{ address: string }>`
          select address from registrant_push_subscriptions where organization_id = ${organization.id}`
          expect(devices.map((d) => d.address).sort()).toEqual(
            [fcmToken(1), fcmToken(2), apnsToken(1), apnsToken(2)].sort()
          )
          expect(yield* pushCount("fcm", "gone")).toBe(0)
          expect(yield* pushCount("apns", "gone")).toBe(0)

          // 3. The keys are fixed: the held messages go out on their next retry, each to its device.
          fcm.mode = "accept"
          apns.refusing = false
          yield* sql`update journey_messages set due_at = now() - interval '1 second'
          where organization_id = ${organization.id} and status = 'queued'`
          yield* drain(sender)
          expect((yield* statuses(push1)).map((m) => m.status)).toEqual(["sent", "sent"])
          expect((yield* statuses(push2)).map((m) => [m.status, m.provider])).toEqual([
            ["sent", "fcm"],
            ["sent", "apns"]
          ])
          expect(fcm.sent.sort()).toEqual([fcmToken(1), fcmToken(2)])
          expect(apns.sent).toEqual([apnsToken(1), apnsToken(2)])
          const dead = yield* sql`select 1 from journey_messages where organization_id = ${organization.id}
          and status = 'dead'`
          expect(dead).toHaveLength(0)
        })
    )
  })
})

describe("which refusals are the account's", () => {
  const send = (push: Effect.Effect<PushShape, unknown, Scope.Scope>, message: PushMessage) =>
    Effect.flatMap(push, (p) => Effect.flip(p.send(message))).pipe(
      Effect.map((error) => [error.failure, error.unauthorized === true] as const),
      Effect.scoped,
      Effect.orDie
    )
  const fcmPush = FcmPush.fromConfig({ timeout: "5 seconds" }).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(pushEnv))))
  )
  const fcmMessage: PushMessage = { title: "T", body: "B", subscription: { kind: "fcm", token: "fcm-t-1" } }

  it.effect("FCM: a refused exchange or a 401/403 is; SENDER_ID_MISMATCH (this token's project) is not", () =>
    Effect.gen(function* () {
      fcm.mode = "accept"
      const token = json(200, { access_token: "ya29.x", expires_in: 3600 })
      const fcmError = (status: number, code: string, errorCode?: string) =>
        json(status, {
          error: {
            code: status,
            message: `${code} from the test`,
            status: code,
            details:
              errorCode === undefined
                ? []
                : [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }]
          }
        })
      // The peer's answers for one send, in order (a fresh provider each time: its token exchange first).
      const cases: ReadonlyArray<readonly [ReadonlyArray<Reply>, readonly [string, boolean]]> = [
        [
          [json(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." })],
          ["transient", true]
        ],
        [[json(401, { error: "invalid_client" })], ["transient", true]],
        [[json(503, { error: "backend_error" })], ["transient", false]],
        [
          [token, fcmError(403, "PERMISSION_DENIED")],
          ["transient", true]
        ],
        // A 401 gets one new token and one more try.
        [
          [token, fcmError(401, "UNAUTHENTICATED"), token, fcmError(401, "UNAUTHENTICATED")],
          ["transient", true]
        ],
        [
          [
            token,
            fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"),
            token,
            fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")
          ],
          ["transient", true]
        ],
        [
          [token, fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")],
          ["permanent", false]
        ],
        [
          [token, fcmError(404, "NOT_FOUND", "UNREGISTERED")],
          ["gone", false]
        ],
        [
          [token, fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")],
          ["transient", false]
        ]
      ]
      for (const [replies, expected] of cases) {
        fcm.peer.reply(...replies)
        expect({ replies: replies.length, got: yield* send(fcmPush, fcmMessage) }).toEqual({
          replies: replies.length,
          got: expected
        })
      }
    })
  )

  it.effect("Web Push: 401/403 (our VAPID key refused) is; 410 and 429 are not", () =>
    Effect.gen(function* () {
      const vapid = WebPush.generateVapidKeys()
      const webPush = WebPush.make({
        publicKey: vapid.publicKey,
        privateKey: Redacted.make(vapid.privateKey),
        subject: "mailto:ops@tapline.test",
        timeout: "5 seconds"
      })
      const message: PushMessage = {
        title: "T",
        body: "B",
        subscription: {
          kind: "webpush",
          endpoint: `${fcm.peer.url}/push/1`,
          keys: {
            p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            auth: "tBHItJI5svbpez7KI4CCXg"
          }
        }
      }
      const cases = [
        [401, ["transient", true]],
        [403, ["transient", true]],
        [410, ["gone", false]],
        [429, ["transient", false]]
      ] as const
      for (const [status, expected] of cases) {
        fcm.peer.reply({ status, body: "" })
        expect(yield* send(webPush, message)).toEqual(expected)
      }
    })
  )
})
