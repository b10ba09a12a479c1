import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { freePort } from "@tapline/testing/ports"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel, Option, Schedule } from "effect"
import { AppConfig } from "../src/Config/AppConfig.js"
import * as BodyGuard from "../src/Http/BodyGuard.js"
import { NodeServerLive } from "../src/Http/NodeServer.js"
import * as MemoryJobs from "../src/Jobs/MemoryJobs.js"
import * as Runtime from "../src/Runtime.js"
import { Sms, type SmsMessage } from "../src/Sms/Sms.js"
import { routes, servicesLayer } from "../src/SmsCallbacks/CallbackRoutes.js"
import { twilioSignature } from "../src/SmsCallbacks/TwilioSignature.js"
import { signVonageJwt } from "../src/SmsCallbacks/VonageJwt.js"
import { vonageSignature } from "../src/SmsCallbacks/VonageSignature.js"
import { Metrics } from "../src/Telemetry/Metrics.js"
import { startCaptureServer } from "./support/CaptureServer.js"
import { makeEvent, makeOrganization } from "./support/Fixtures.js"
import { makeSigningKey, signSns, type Unsigned } from "./support/SnsSigner.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

/*
 * Issue 34, item 3: the providers' callbacks end to end, on a real PostgreSQL, over HTTP to the routes as
 * production mounts them (BodyGuard, the Node server's early refusal). SNS's certificate host is a loopback
 * peer (SNS_TRUSTED_CERT_HOST); an attacker's is another, which must never be asked. The SMS a HELP answers
 * with goes to an in-test `Sms` (a recording peer standing in for the providers the sms helper builds).
 */

const seed = Math.floor(Math.random() * 1e6)
console.log(`SmsCallbacks.test seed ${seed}`)
let phones = 0
/** A fresh E.164 phone per use. */
const newPhone = () => `+4477${String(seed).padStart(6, "0")}${String(++phones).padStart(2, "0")}`
const sid = () => `SM${randomBytes(16).toString("hex")}`

const TWILIO_TOKEN = `twilio-${randomBytes(8).toString("hex")}`
const VONAGE_SECRET = `vonage-${randomBytes(8).toString("hex")}`
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:tapline-sms"
const PUBLIC_URL = "https://hooks.tapline.test"
const PLATFORM_HELP = "Platform help: reply STOP to stop."

const key = makeSigningKey()
const attacker = makeSigningKey()
const certificates = await startCaptureServer()
certificates.fallback = (request) =>
  request.url === "/sns.pem"
    ? { status: 200, body: key.certificatePem }
    : request.url.startsWith("/confirm")
      ? { status: 200, body: "<ConfirmSubscriptionResponse/>" }
      : { status: 404 }
const evil = await startCaptureServer()
evil.fallback = () => ({ status: 200, body: attacker.certificatePem })
afterAll(() => Promise.all([certificates.close(), evil.close()]))
const CERT_URL = `${certificates.url}/sns.pem`

const replies: Array<SmsMessage> = []
const RecordingSms = Layer.succeed(
  Sms,
  Sms.of({
    provider: "log",
    send: (message) =>
      Effect.sync(() => {
        replies.push(message)
        return { provider: "log", providerMessageId: `log-${replies.length}` }
      })
  })
)

class Hooks extends Context.Tag("test/Hooks")<Hooks, { readonly url: string }>() {}

const harness = Layer.unwrapScoped(
  Effect.gen(function* () {
    const port = yield* Effect.promise(() => freePort())
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-callbacks-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
    const provider = Layer.setConfigProvider(
      ConfigProvider.fromMap(
        new Map(
          Object.entries({
            TAPLINE_DATA_DIR: dataDir,
            LOG_LEVEL: "WARN",
            TAPLINE_ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
            HOST: "127.0.0.1",
            PORT: String(port),
            PUBLIC_URL,
            TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
            VONAGE_SIGNATURE_SECRET: VONAGE_SECRET,
            VONAGE_SIGNATURE_METHOD: "sha256",
            SNS_TOPIC_ARNS: `arn:aws:sns:us-east-1:123456789012:other, ${TOPIC}`,
            SNS_TRUSTED_CERT_HOST: new URL(certificates.url).host,
            SMS_HELP_TEXT: PLATFORM_HELP
          })
        )
      )
    )
    const config = AppConfig.layer.pipe(Layer.provide(provider))
    // Served as HttpApp.ts serves them: behind the body guard, on the Node server that refuses early.
    const app = Layer.unwrapEffect(
      Effect.map(routes, (router) =>
        HttpServer.serve(BodyGuard.guardBodies({ standard: 1 << 20, bandImport: 1 << 20 })(router))
      )
    )
    return app.pipe(
      Layer.provide(NodeServerLive),
      Layer.provideMerge(servicesLayer.pipe(Layer.provide(RecordingSms), Layer.provide(provider))),
      Layer.provideMerge(Runtime.platform({ database: MigratedDatabase, jobs: MemoryJobs.layer })),
      Layer.provideMerge(config),
      Layer.merge(Layer.succeed(Hooks, { url: `http://127.0.0.1:${port}` })),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  })
)

interface Reply {
  readonly status: number
  readonly body: string
  readonly type: string | undefined
}

/** One request with node:http; an error after the answer came (a refused body cut short) is not a failure. */
const send = (method: string, path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  Effect.flatMap(Hooks, ({ url }) =>
    Effect.promise(
      () =>
        new Promise<Reply>((resolve, reject) => {
          const request = Http.request(`${url}${path}`, { method, headers, agent: false }, (response) => {
            const chunks: Array<Buffer> = []
            response.on("data", (chunk: Buffer) => chunks.push(chunk))
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: Buffer.concat(chunks).toString("utf8"),
                type: response.headers["content-type"]
              })
            )
          })
          request.on("error", reject)
          request.end(body)
        })
    )
  )

const form = (params: ReadonlyArray<readonly [string, string]>) =>
  new URLSearchParams(params as Array<[string, string]>).toString()

const FORM = { "content-type": "application/x-www-form-urlencoded" }

/** A Twilio callback signed as Twilio signs it (or with `token`, or with parameters changed after signing). */
const twilio = (
  path: string,
  params: ReadonlyArray<readonly [string, string]>,
  options: {
    token?: string
    tamper?: (p: Array<[string, string]>) => Array<[string, string]>
    header?: boolean
  } = {}
) => {
  const signature = twilioSignature(options.token ?? TWILIO_TOKEN, PUBLIC_URL + path, params)
  const sent = options.tamper ? options.tamper(params.map(([k, v]) => [k, v])) : params
  return send("POST", path, form(sent), {
    ...FORM,
    ...(options.header === false ? {} : { "x-twilio-signature": signature })
  })
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000))

/** Vonage parameters with timestamp and sig, as a signed webhook carries them. */
const vonageSigned = (
  params: ReadonlyArray<readonly [string, string]>,
  options: { secret?: string; at?: string } = {}
) => {
  const withTime: Array<[string, string]> = [
    ...params.map(([k, v]): [string, string] => [k, v]),
    ["timestamp", options.at ?? nowSeconds()],
    ["nonce", randomBytes(4).toString("hex")]
  ]
  return [
    ...withTime,
    ["sig", vonageSignature(options.secret ?? VONAGE_SECRET, "sha256", withTime)]
  ] as Array<[string, string]>
}

const sns = (fields: Partial<Unsigned>, signer = key, version: "1" | "2" = "2") =>
  signSns(
    signer,
    { Type: "Notification", TopicArn: TOPIC, Message: "{}", SigningCertURL: CERT_URL, ...fields },
    version
  )

const postSns = (message: unknown, type = "text/plain; charset=UTF-8") =>
  send("POST", "/hooks/sms/sns", JSON.stringify(message), {
    "content-type": type,
    "x-amz-sns-message-type": "Notification"
  })

interface World {
  readonly organizationId: string
  readonly eventId: string
  readonly journeyId: string
}

/** An organisation (its help text given), an event, and an SMS journey of that event. */
const world = (helpText: string | null) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const organization = yield* makeOrganization({ smsHelpText: Option.fromNullable(helpText) as never })
    const event = yield* makeEvent(organization)
    const [journey] = yield* sql<{ id: string }>`
      insert into journeys (organization_id, event_id, name, trigger, channel, subject, body)
      values (${organization.id}, ${event.id}, 'Welcome', 'first_tap', 'sms', 'Welcome', 'Hi') returning id`
    return { organizationId: organization.id, eventId: event.id, journeyId: journey!.id } as World
  }).pipe(Effect.orDie)

/** A band of the world's event with a registrant (their phone, and SMS consent granted or not given). */
const person = (w: World, phone: string, consent: boolean | null) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [band] = yield* sql<{ id: string }>`
      insert into bands (organization_id, event_id, band_uid) values (${w.organizationId}, ${w.eventId}, ${`B-${randomBytes(6).toString("hex")}`})
      returning id`
    const [registrant] = yield* sql<{ id: string }>`
      insert into registrants (organization_id, band_id, phone, source) values (${w.organizationId}, ${band!.id}, ${phone}, 'api')
      returning id`
    if (consent !== null)
      yield* sql`insert into registrant_consents (registrant_id, channel, granted, at, source, wording)
        values (${registrant!.id}, 'sms', ${consent}, now(), 'api', 'Texts about the event')`
    return { bandId: band!.id, registrantId: registrant!.id }
  }).pipe(Effect.orDie)

/** A message the world's journey sent to the band through `provider`, known to it as `providerId`. */
const message = (w: World, bandId: string, provider: string, providerId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ id: string }>`
        insert into journey_messages (organization_id, journey_id, band_id, due_at, status, provider, provider_message_id,
          sent_at, unsubscribe_token)
        values (${w.organizationId}, ${w.journeyId}, ${bandId}, now(), 'sent', ${provider}, ${providerId}, now(),
          ${randomBytes(24).toString("base64url")})
        returning id`,
      (rows) => rows[0]!.id
    )
  ).pipe(Effect.orDie)

const delivery = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ deliveryStatus: string | null; deliveryDetail: string | null; deliveryUpdatedAt: Date | null }>`
        select delivery_status, delivery_detail, delivery_updated_at from journey_messages where id = ${id}`,
      (rows) => rows[0]!
    )
  ).pipe(Effect.orDie)

const consents = (registrantId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ granted: boolean; source: string }>`
      select granted, source from registrant_consents where registrant_id = ${registrantId} and channel = 'sms' order by seq`
  ).pipe(
    Effect.orDie,
    Effect.map((rows) => rows.map((r) => `${r.granted ? "granted" : "withdrawn"}:${r.source}`))
  )

const audits = (registrantId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ action: string; actorType: string; actorId: string; newValues: unknown }>`
      select action, actor_type, actor_id, new_values from audit_log where resource_id = ${registrantId} order by id`
  ).pipe(Effect.orDie)

const counted = (provider: string, kind: string, outcome: string) =>
  Effect.flatMap(Metrics, (metrics) =>
    Effect.promise(async () => {
      const { values } = await metrics.smsCallbacks.get()
      return (
        values.find(
          (v) => v.labels.provider === provider && v.labels.kind === kind && v.labels.outcome === outcome
        )?.value ?? 0
      )
    })
  )

const replyTo = (phone: string) =>
  Effect.sync(() => replies.find((m) => m.to === phone)).pipe(
    Effect.flatMap((found) =>
      found === undefined ? Effect.fail("not yet" as const) : Effect.succeed(found)
    ),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), while: (e) => e === "not yet" }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`no reply to ${phone}`) }),
    Effect.orDie
  )

layer(harness, { excludeTestServices: true, timeout: 60_000 })("SMS callbacks", (it) => {
  it.effect(
    "Twilio status: signed applies once, never backwards; forged, tampered or unsigned changes nothing",
    () =>
      Effect.gen(function* () {
        const w = yield* world(null)
        const { bandId } = yield* person(w, newPhone(), true)
        const id = sid()
        const row = yield* message(w, bandId, "twilio", id)
        const status = (word: string, extra: Array<[string, string]> = []) =>
          [["MessageSid", id], ["MessageStatus", word], ["AccountSid", "AC1"], ...extra] as Array<
            [string, string]
          >
        const path = "/hooks/sms/twilio/status"

        // Refused before anything: a wrong token, a parameter changed after signing, no header, a wrong URL.
        expect((yield* twilio(path, status("delivered"), { token: "not-the-token" })).status).toBe(403)
        expect(
          (yield* twilio(path, status("sent"), {
            tamper: (p) => p.map(([k, v]) => [k, k === "MessageStatus" ? "delivered" : v])
          })).status
        ).toBe(403)
        expect((yield* twilio(path, status("delivered"), { header: false })).status).toBe(403)
        const elsewhere = twilioSignature(
          TWILIO_TOKEN,
          `${PUBLIC_URL}/hooks/sms/twilio/inbound`,
          status("delivered")
        )
        expect(
          (yield* send("POST", path, form(status("delivered")), { ...FORM, "x-twilio-signature": elsewhere }))
            .status
        ).toBe(403)
        expect((yield* delivery(row)).deliveryStatus).toBeNull()
        expect(yield* counted("twilio", "status", "refused_signature")).toBe(4)

        expect((yield* twilio(path, status("sent"))).status).toBe(200)
        const sent = yield* delivery(row)
        expect(sent.deliveryStatus).toBe("sent")
        // The same callback again (Twilio retries): 200, nothing changes.
        expect((yield* twilio(path, status("sent"))).status).toBe(200)
        expect(yield* delivery(row)).toEqual(sent)
        expect(yield* counted("twilio", "status", "duplicate")).toBe(1)

        expect(
          (yield* twilio(
            path,
            status("undelivered", [
              ["ErrorCode", "30003"],
              ["ErrorMessage", "Unreachable\u0000 handset\u0007"]
            ])
          )).status
        ).toBe(200)
        expect(yield* delivery(row)).toMatchObject({
          deliveryStatus: "undelivered",
          deliveryDetail: "30003: Unreachable handset"
        })
        // A late "queued" and a later "delivered" (both final-or-behind) leave the first final status.
        expect((yield* twilio(path, status("queued"))).status).toBe(200)
        expect((yield* twilio(path, status("delivered"))).status).toBe(200)
        expect((yield* delivery(row)).deliveryStatus).toBe("undelivered")
        expect(yield* counted("twilio", "status", "stale")).toBe(2)

        // A message nobody sent: 200, nothing, counted.
        expect(
          (yield* twilio(path, [
            ["MessageSid", sid()],
            ["MessageStatus", "delivered"]
          ])).status
        ).toBe(200)
        expect(yield* counted("twilio", "status", "unknown_message")).toBe(1)
      })
  )

  it.effect(
    "Vonage receipts: signed with a fresh timestamp apply; old, tampered, unsigned or wrongly keyed do not",
    () =>
      Effect.gen(function* () {
        const w = yield* world(null)
        const { bandId } = yield* person(w, newPhone(), true)
        const id = `0A${randomBytes(7).toString("hex").toUpperCase()}`
        const row = yield* message(w, bandId, "vonage", id)
        const receipt = (word: string): Array<[string, string]> => [
          ["messageId", id],
          ["status", word],
          ["msisdn", "447700900001"],
          ["err-code", "0"]
        ]
        const path = "/hooks/sms/vonage/status"
        const query = (params: ReadonlyArray<readonly [string, string]>) =>
          send("GET", `${path}?${form(params)}`, "")

        const old = String(Math.floor(Date.now() / 1000) - 6 * 60)
        expect((yield* query(vonageSigned(receipt("delivered"), { at: old }))).status).toBe(403)
        expect((yield* query(vonageSigned(receipt("delivered"), { secret: "wrong" }))).status).toBe(403)
        expect((yield* query(receipt("delivered"))).status).toBe(403)
        const tampered = vonageSigned(receipt("accepted")).map(([k, v]): [string, string] => [
          k,
          k === "status" ? "delivered" : v
        ])
        expect((yield* query(tampered)).status).toBe(403)
        expect((yield* delivery(row)).deliveryStatus).toBeNull()
        expect(yield* counted("vonage", "status", "refused_replay")).toBe(1)

        // GET with a query, then POST-JSON: both as Vonage sends them.
        expect((yield* query(vonageSigned(receipt("accepted")))).status).toBe(200)
        expect(yield* delivery(row)).toMatchObject({ deliveryStatus: "sent", deliveryDetail: null })
        const delivered = Object.fromEntries(vonageSigned(receipt("delivered")))
        const json = { "content-type": "application/json" }
        expect((yield* send("POST", path, JSON.stringify(delivered), json)).status).toBe(200)
        expect((yield* delivery(row)).deliveryStatus).toBe("delivered")
        const before = yield* delivery(row)
        expect((yield* send("POST", path, JSON.stringify(delivered), json)).status).toBe(200)
        expect((yield* query(vonageSigned(receipt("accepted")))).status).toBe(200)
        expect(yield* delivery(row)).toEqual(before)

        // The Messages API's webhooks: a bearer JWT over the body's hash.
        const uuid = crypto.randomUUID()
        const other = yield* person(w, newPhone(), true)
        const uuidRow = yield* message(w, other.bandId, "vonage", uuid)
        const rejected = JSON.stringify({
          message_uuid: uuid,
          status: "rejected",
          channel: "sms",
          error: {
            type: "https://developer.vonage.com/api-errors/messages#1320",
            title: "1320",
            detail: "Invalid\u0000 number"
          }
        })
        const bearer = (body: string, secret = VONAGE_SECRET, iat = Math.floor(Date.now() / 1000)) => ({
          ...json,
          authorization: `Bearer ${signVonageJwt(secret, body, iat)}`
        })
        expect((yield* send("POST", path, rejected, bearer(rejected, "wrong"))).status).toBe(403)
        expect(
          (yield* send("POST", path, rejected, bearer(rejected.replace("rejected", "read")))).status
        ).toBe(403)
        const stale = bearer(rejected, VONAGE_SECRET, Math.floor(Date.now() / 1000) - 6 * 60)
        expect((yield* send("POST", path, rejected, stale)).status).toBe(403)
        expect((yield* delivery(uuidRow)).deliveryStatus).toBeNull()
        expect((yield* send("POST", path, rejected, bearer(rejected))).status).toBe(200)
        expect(yield* delivery(uuidRow)).toMatchObject({
          deliveryStatus: "failed",
          deliveryDetail: "1320: Invalid number"
        })
      })
  )

  it.effect(
    "SNS: signed v1 and v2 apply once; untrusted certificate hosts, other topics, old or forged messages do not",
    () =>
      Effect.gen(function* () {
        const w = yield* world(null)
        const { bandId } = yield* person(w, newPhone(), true)
        const messageId = randomBytes(16).toString("hex")
        const row = yield* message(w, bandId, "sns", messageId)
        const event = (status: string) =>
          JSON.stringify({
            eventType: "TEXT_DELIVERED",
            messageId,
            messageStatus: status,
            messageStatusDescription: "Message has been accepted by phone"
          })

        const evilUrl = `${evil.url}/sns.pem`
        expect(
          (yield* postSns(sns({ Message: event("DELIVERED"), SigningCertURL: evilUrl }, attacker))).status
        ).toBe(403)
        expect(
          (yield* postSns(
            sns(
              {
                Message: event("DELIVERED"),
                SigningCertURL: "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem"
              },
              attacker
            )
          )).status
        ).toBe(403)
        expect(evil.requests).toHaveLength(0)
        // Signed by someone else, pointing at SNS's (the trusted) certificate.
        expect((yield* postSns(sns({ Message: event("DELIVERED") }, attacker))).status).toBe(403)
        expect(
          (yield* postSns(
            sns({ Message: event("DELIVERED"), TopicArn: "arn:aws:sns:eu-west-1:123456789012:someone-else" })
          )).status
        ).toBe(403)
        expect(
          (yield* postSns(
            sns({ Message: event("DELIVERED"), Timestamp: new Date(Date.now() - 6 * 60_000).toISOString() })
          )).status
        ).toBe(403)
        const signed = sns({ Message: event("DELIVERED") })
        expect((yield* postSns({ ...signed, Message: event("FAILED") })).status).toBe(403)
        expect((yield* delivery(row)).deliveryStatus).toBeNull()

        expect((yield* postSns(sns({ Message: event("SUCCESSFUL") }, key, "1"))).status).toBe(200)
        expect((yield* delivery(row)).deliveryStatus).toBe("sent")
        expect((yield* postSns(signed, "application/json")).status).toBe(200)
        const delivered = yield* delivery(row)
        expect(delivered).toMatchObject({
          deliveryStatus: "delivered",
          deliveryDetail: "Message has been accepted by phone"
        })
        expect((yield* postSns(signed)).status).toBe(200)
        expect(yield* delivery(row)).toEqual(delivered)
        // The certificate was fetched once, then kept.
        expect(certificates.requests.filter((r) => r.url === "/sns.pem")).toHaveLength(1)
      })
  )

  it.effect("SNS subscription: confirmed only when signature and topic pass", () =>
    Effect.gen(function* () {
      const confirm = `${certificates.url}/confirm?Token=${randomBytes(8).toString("hex")}`
      const confirmation = (signer = key, topic = TOPIC) =>
        sns(
          {
            Type: "SubscriptionConfirmation",
            Token: "t",
            SubscribeURL: confirm,
            Message: "You have chosen to subscribe",
            TopicArn: topic
          },
          signer
        )
      expect((yield* postSns(confirmation(attacker))).status).toBe(403)
      expect((yield* postSns(confirmation(key, "arn:aws:sns:eu-west-1:1:other"))).status).toBe(403)
      expect(certificates.requests.filter((r) => r.url.startsWith("/confirm"))).toHaveLength(0)
      expect((yield* postSns(confirmation())).status).toBe(200)
      const visits = certificates.requests.filter((r) => r.url.startsWith("/confirm"))
      expect(visits.map((r) => `${r.method} ${certificates.url}${r.url}`)).toEqual([`GET ${confirm}`])
    })
  )

  it.effect(
    "STOP and START by phone across organisations, audited; HELP answers with the texting organisation's text",
    () =>
      Effect.gen(function* () {
        const acme = yield* world("Acme Fest <help@acme.example> & STOP to stop")
        const other = yield* world(null)
        const phone = newPhone()
        const bystander = newPhone()
        const a = yield* person(acme, phone, true)
        const b = yield* person(other, phone, null)
        const c = yield* person(acme, bystander, true)
        yield* message(acme, a.bandId, "twilio", sid())

        const inbound = (from: string, body: string, id = sid()) =>
          twilio("/hooks/sms/twilio/inbound", [
            ["MessageSid", id],
            ["From", from],
            ["To", "+15005550006"],
            ["Body", body]
          ])

        // Forged STOP: nothing.
        const forged = yield* twilio(
          "/hooks/sms/twilio/inbound",
          [
            ["MessageSid", sid()],
            ["From", phone],
            ["Body", "STOP"]
          ],
          { token: "guess" }
        )
        expect(forged.status).toBe(403)
        expect(yield* consents(a.registrantId)).toEqual(["granted:api"])

        const stopId = sid()
        const stop = yield* inbound(phone, "  Stop \n", stopId)
        expect(stop.status).toBe(200)
        expect(stop.type).toContain("text/xml")
        expect(stop.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>')
        expect(yield* consents(a.registrantId)).toEqual(["granted:api", "withdrawn:sms"])
        expect(yield* consents(b.registrantId)).toEqual(["withdrawn:sms"])
        expect(yield* consents(c.registrantId)).toEqual(["granted:api"])
        const [audit] = yield* audits(a.registrantId)
        expect(audit).toMatchObject({
          action: "registrant.update",
          actorType: "system",
          actorId: "sms:twilio",
          newValues: { source: "sms", provider: "twilio", consents: [{ channel: "sms", granted: false }] }
        })
        expect(JSON.stringify(audit)).not.toContain(phone)
        // Twilio retries the same STOP: nothing more.
        yield* inbound(phone, "STOP", stopId)
        expect(yield* consents(a.registrantId)).toEqual(["granted:api", "withdrawn:sms"])

        // START through Vonage (signed POST form): back only where a STOP took a consent once given.
        const start = yield* send(
          "POST",
          "/hooks/sms/vonage/inbound",
          form(
            vonageSigned([
              ["msisdn", phone.slice(1)],
              ["to", "447700900000"],
              ["messageId", "0B00000012345678"],
              ["text", "start"],
              ["type", "text"]
            ])
          ),
          FORM
        )
        expect(start.status).toBe(200)
        expect(yield* consents(a.registrantId)).toEqual(["granted:api", "withdrawn:sms", "granted:sms"])
        expect(yield* consents(b.registrantId)).toEqual(["withdrawn:sms"])
        expect(
          (yield* audits(a.registrantId)).map(
            (e) => (e.newValues as { consents: Array<{ granted: boolean }> }).consents[0]!.granted
          )
        ).toEqual([false, true])

        // HELP by Twilio: TwiML, the organisation's text XML-escaped. By SNS: a reply through the Sms port.
        const help = yield* inbound(phone, "help")
        expect(help.body).toBe(
          '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme Fest &lt;help@acme.example&gt; &amp; STOP to stop</Message></Response>'
        )
        const viaSns = sns({
          Message: JSON.stringify({
            originationNumber: bystander,
            destinationNumber: "+15005550006",
            messageBody: "INFO",
            inboundMessageId: "x"
          })
        })
        expect((yield* postSns(viaSns)).status).toBe(200)
        // The bystander's organisation never texted them: the platform's text.
        expect((yield* replyTo(bystander)).text).toBe(PLATFORM_HELP)
        // Anything else: stored nowhere, counted.
        expect((yield* inbound(phone, "what time do doors open?")).body).toContain("<Response></Response>")
        expect(yield* counted("twilio", "inbound", "ignored")).toBe(1)
        expect(yield* consents(a.registrantId)).toHaveLength(3)
      })
  )

  it.effect("bad input is a 4xx, never a 5xx: wrong types, malformed bodies, 1 MB, control characters", () =>
    Effect.gen(function* () {
      const json = { "content-type": "application/json" }
      const cases: Array<[string, string, string | Buffer, Record<string, string>]> = [
        ["POST", "/hooks/sms/twilio/status", '{"MessageSid":"x"}', json],
        ["POST", "/hooks/sms/twilio/status", "MessageSid=%ZZ&\u0000=\u0000", FORM],
        ["POST", "/hooks/sms/twilio/inbound", "", {}],
        ["POST", "/hooks/sms/vonage/inbound", "[1,2,3]", json],
        ["POST", "/hooks/sms/vonage/inbound", '{"text":{"nested":true}}', json],
        ["POST", "/hooks/sms/vonage/status", "{", json],
        ["POST", "/hooks/sms/vonage/status", `${"[".repeat(5000)}`, json],
        ["GET", "/hooks/sms/vonage/status?messageId=%00&status=%ff&sig=", "", {}],
        ["POST", "/hooks/sms/sns", "not json", { "content-type": "text/plain" }],
        ["POST", "/hooks/sms/sns", '{"Type":"Notification"}', { "content-type": "text/plain" }],
        ["POST", "/hooks/sms/sns", JSON.stringify(sns({})), { "content-type": "application/xml" }],
        [
          "POST",
          "/hooks/sms/sns",
          JSON.stringify({ ...sns({}), MessageId: "\u0000" }),
          { "content-type": "text/plain" }
        ],
        ["POST", "/hooks/sms/sns", Buffer.alloc(1 << 20, 0x20), { "content-type": "text/plain" }],
        ["POST", "/hooks/sms/twilio/inbound", Buffer.alloc(1 << 20, 0x61), FORM]
      ]
      for (const [method, path, body, headers] of cases) {
        const reply = yield* send(method, path, body, headers)
        expect(reply.status, `${method} ${path} ${String(body).slice(0, 40)}`).toBeGreaterThanOrEqual(400)
        expect(reply.status, `${method} ${path} ${String(body).slice(0, 40)}`).toBeLessThan(500)
        expect(reply.body).not.toContain(TWILIO_TOKEN)
      }
      // Signed, but its content is not Twilio's: 400. Signed with control characters in the text: taken, nothing kept.
      expect(
        (yield* twilio("/hooks/sms/twilio/status", [
          ["MessageSid", "SM\u0000"],
          ["MessageStatus", "sent"]
        ])).status
      ).toBe(400)
      const phone = newPhone()
      const reply = yield* twilio("/hooks/sms/twilio/inbound", [
        ["MessageSid", sid()],
        ["From", phone],
        ["Body", "ST\u0000OP\u001b"]
      ])
      expect(reply.status).toBe(200)
      expect(
        (yield* twilio("/hooks/sms/twilio/inbound", [
          ["MessageSid", sid()],
          ["From", "whatsapp:+1\u0000"],
          ["Body", "STOP"]
        ])).status
      ).toBe(200)
    })
  )
})
