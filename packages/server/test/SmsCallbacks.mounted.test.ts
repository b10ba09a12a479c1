import * as Http from "node:http"
import { expect, layer } from "@effect/vitest"
import { freePort } from "@tapline/testing/ports"
import { Effect, Schedule } from "effect"
import { twilioSignature } from "../src/SmsCallbacks/TwilioSignature.js"
import { vonageSignature } from "../src/SmsCallbacks/VonageSignature.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"

/*
 * Issue 34, item 3: the callback routes as the API process mounts them (Http/HttpApp.ts), behind its body
 * guard: no key needed, the signature decides, and a body over 64 kB is refused before it is read.
 * The behaviour itself is SmsCallbacks.test.ts's.
 */

const TOKEN = "mounted-twilio-token"
const PUBLIC_URL = "https://hooks.tapline.test"

const post = (path: string, body: string, headers: Record<string, string>) =>
  Effect.flatMap(AdminServer, ({ url }) =>
    Effect.promise(
      () =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          let answered = false
          const request = Http.request(
            `${url}${path}`,
            { method: "POST", headers, agent: false },
            (response) => {
              answered = true
              const chunks: Array<Buffer> = []
              response.on("data", (chunk: Buffer) => chunks.push(chunk))
              response.on("end", () =>
                resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })
              )
            }
          )
          // A refused body is cut short once answered: that error is not the test's.
          request.on("error", (error) => (answered ? undefined : reject(error)))
          request.end(body)
        })
    )
  )

const FORM = { "content-type": "application/x-www-form-urlencoded" }

layer(adminHarness({ TWILIO_AUTH_TOKEN: TOKEN, PUBLIC_URL }), { excludeTestServices: true, timeout: 60_000 })(
  "SMS callbacks mounted in the API",
  (it) => {
    it.effect(
      "signed is taken without a key, unsigned is 403, past 64 kB is 413, a body that is not SNS's is 400",
      () =>
        Effect.gen(function* () {
          const path = "/hooks/sms/twilio/status"
          const params: Array<[string, string]> = [
            ["MessageSid", `SM${"0".repeat(32)}`],
            ["MessageStatus", "delivered"]
          ]
          const body = new URLSearchParams(params).toString()
          const signature = twilioSignature(TOKEN, PUBLIC_URL + path, params)
          expect((yield* post(path, body, { ...FORM, "x-twilio-signature": signature })).status).toBe(200)
          expect((yield* post(path, body, FORM)).status).toBe(403)
          const big = yield* post(path, `Body=${"a".repeat(70 * 1024)}`, {
            ...FORM,
            "x-twilio-signature": signature
          })
          expect(big.status).toBe(413)
          const sns = yield* post("/hooks/sms/sns", "{}", { "content-type": "text/plain" })
          expect(sns.status).toBe(400)
        })
    )
  }
)

/*
 * HELP arriving by Vonage is answered through the runtime's `Sms` port (SMS_PROVIDERS), here the real Twilio
 * module sending to a loopback peer that stands in for Twilio's Messages API: the wiring from the routes to the
 * configured provider, which SmsCallbacks.test.ts replaces with an in-test port.
 */
const twilioPeer = await (async () => {
  const requests: Array<{ path: string; form: URLSearchParams }> = []
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      requests.push({
        path: request.url ?? "",
        form: new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
      })
      response.writeHead(201, { "content-type": "application/json" })
      response.end(JSON.stringify({ sid: `SM${"1".repeat(32)}`, status: "queued" }))
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()))
  return { url: `http://127.0.0.1:${port}`, requests, close: () => server.close() }
})()

const VONAGE_SECRET = "mounted-vonage-secret"
const HELP_TEXT = "Tapline help: reply STOP to stop texts."
const SID = `AC${"2".repeat(32)}`

layer(
  adminHarness({
    PUBLIC_URL,
    SMS_PROVIDERS: "twilio",
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_FROM: "+15005550001",
    TWILIO_API_URL: twilioPeer.url,
    VONAGE_SIGNATURE_SECRET: VONAGE_SECRET,
    VONAGE_SIGNATURE_METHOD: "sha256",
    SMS_HELP_TEXT: HELP_TEXT
  }),
  { excludeTestServices: true, timeout: 60_000 }
)("SMS callbacks answered through the configured provider", (it) => {
  it.effect("HELP by Vonage is answered by the Sms port's provider (Twilio), to the sender's number", () =>
    Effect.gen(function* () {
      const phone = `1500555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`
      const params: Array<[string, string]> = [
        ["msisdn", phone],
        ["to", "447700900000"],
        ["messageId", `0B${Date.now().toString(16).padStart(14, "0")}`],
        ["text", " help "],
        ["type", "text"],
        ["timestamp", String(Math.floor(Date.now() / 1000))]
      ]
      params.push(["sig", vonageSignature(VONAGE_SECRET, "sha256", params)])
      const answer = yield* post("/hooks/sms/vonage/inbound", new URLSearchParams(params).toString(), FORM)
      expect(answer.status).toBe(200)
      // The reply goes out after the callback was answered.
      const reply = yield* Effect.sync(() =>
        twilioPeer.requests.find((r) => r.form.get("To") === `+${phone}`)
      ).pipe(
        Effect.flatMap((found) => (found === undefined ? Effect.fail("not yet") : Effect.succeed(found))),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(400))))
      )
      expect(reply.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`)
      expect(reply.form.get("Body")).toBe(HELP_TEXT)
      expect(reply.form.get("From")).toBe("+15005550001")
      twilioPeer.close()
    })
  )
})
