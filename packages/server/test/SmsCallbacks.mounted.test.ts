import * as Http from "node:http"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { twilioSignature } from "../src/SmsCallbacks/TwilioSignature.js"
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
