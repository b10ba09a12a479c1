import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { freePort } from "@tapline/testing/ports"
import { type SmtpPeer, startSmtpPeer } from "@tapline/testing/smtpPeer"
import { Effect, Either, Option, Redacted, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { EmailError, EmailMessage, EmailShape } from "../src/Email/Email.js"
import * as Failover from "../src/Email/Failover.js"
import * as LogEmail from "../src/Email/LogEmail.js"
import * as MailgunEmail from "../src/Email/MailgunEmail.js"
import * as PostmarkEmail from "../src/Email/PostmarkEmail.js"
import * as ResendEmail from "../src/Email/ResendEmail.js"
import * as SendGridEmail from "../src/Email/SendGridEmail.js"
import * as SesEmail from "../src/Email/SesEmail.js"
import * as SmtpEmail from "../src/Email/SmtpEmail.js"
import {
  type CapturedRequest,
  type CaptureServer,
  type Reply,
  startCaptureServer
} from "./support/CaptureServer.js"

// For the test that runs the garbage collector while a send waits on its deadline.
V8.setFlagsFromString("--expose-gc")

/*
 * One contract for every Email provider. The hosted APIs (Resend, Postmark, SES v2, SendGrid, Mailgun) are
 * pointed at a loopback peer that records the exact request, which is compared with what each provider
 * documents (path, auth, headers, body), and that answers as the provider does: accepted, a 5xx, a 429 with
 * Retry-After, the provider's documented refusal of a message, or nothing at all. SMTP runs against a real
 * SMTP server (smtp-server) that accepts, defers (451) or refuses (550).
 */

const FROM = "Tapline <no-reply@tapline.test>"
const TIMEOUT = "400 millis"
const message: EmailMessage = {
  id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  to: "ana@example.com",
  subject: "Grüße – ✓ ready",
  text: "Plain text: ünïcødé and a link https://tapline.test/x",
  html: "<p>HTML: <b>ünïcødé</b></p>"
}

/** A journey's message: the one-click unsubscribe of RFC 8058 in two headers. */
const UNSUBSCRIBE = {
  "List-Unsubscribe": "<https://tapline.test/u/tok_123>",
  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
}
const journeyMessage: EmailMessage = { ...message, headers: UNSUBSCRIBE }

const run = <A>(effect: Effect.Effect<A, EmailError, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(Effect.either(effect)))

interface HttpProvider {
  readonly name: string
  readonly make: (baseUrl: string) => Effect.Effect<EmailShape, never, Scope.Scope>
  readonly accepted: Reply
  /** The provider's documented answer to a message it will never deliver. */
  readonly refused: Reply
  readonly assertRequest: (request: CapturedRequest) => void
  /** The extra headers, read from the field the provider documents for them. */
  readonly headersOf: (request: CapturedRequest) => unknown
}

const nameValues = (list: unknown) =>
  Object.fromEntries((list as Array<{ Name: string; Value: string }>).map((h) => [h.Name, h.Value]))

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body)
})

const providers: ReadonlyArray<HttpProvider> = [
  {
    name: "resend",
    make: (baseUrl) =>
      Effect.succeed(
        ResendEmail.make({ apiKey: Redacted.make("re_test_key"), from: FROM, baseUrl, timeout: TIMEOUT })
      ),
    accepted: json(200, { id: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" }),
    refused: json(422, { statusCode: 422, name: "validation_error", message: "Invalid `to` field." }),
    assertRequest: (request) => {
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/emails")
      expect(request.headers.authorization).toBe("Bearer re_test_key")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(request.headers["idempotency-key"]).toBe(message.id)
      expect(JSON.parse(request.body)).toEqual({
        from: FROM,
        to: [message.to],
        subject: message.subject,
        text: message.text,
        html: message.html
      })
    },
    // https://resend.com/docs/api-reference/emails/send-email: `headers`, an object of custom headers.
    headersOf: (request) => JSON.parse(request.body).headers
  },
  {
    name: "postmark",
    make: (baseUrl) =>
      Effect.succeed(
        PostmarkEmail.make({
          serverToken: Redacted.make("pm-server-token"),
          from: FROM,
          baseUrl,
          messageStream: "outbound",
          timeout: TIMEOUT
        })
      ),
    accepted: json(200, {
      To: message.to,
      ErrorCode: 0,
      Message: "OK",
      MessageID: "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    }),
    refused: json(422, {
      ErrorCode: 406,
      Message: "You tried to send to a recipient that has been marked as inactive."
    }),
    assertRequest: (request) => {
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/email")
      expect(request.headers["x-postmark-server-token"]).toBe("pm-server-token")
      expect(request.headers.accept).toBe("application/json")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(request.body)).toEqual({
        From: FROM,
        To: message.to,
        Subject: message.subject,
        TextBody: message.text,
        HtmlBody: message.html,
        MessageStream: "outbound"
      })
    },
    // https://postmarkapp.com/developer/api/email-api: `Headers`, a list of { Name, Value }.
    headersOf: (request) => nameValues(JSON.parse(request.body).Headers)
  },
  {
    name: "sendgrid",
    make: (baseUrl) =>
      Effect.succeed(
        SendGridEmail.make({ apiKey: Redacted.make("SG.test"), from: FROM, baseUrl, timeout: TIMEOUT })
      ),
    accepted: { status: 202 },
    refused: json(400, {
      errors: [{ message: "Does not contain a valid address.", field: "personalizations.0.to.0.email" }]
    }),
    assertRequest: (request) => {
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/v3/mail/send")
      expect(request.headers.authorization).toBe("Bearer SG.test")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(request.body)).toEqual({
        personalizations: [{ to: [{ email: message.to }] }],
        from: { email: "no-reply@tapline.test", name: "Tapline" },
        subject: message.subject,
        content: [
          { type: "text/plain", value: message.text },
          { type: "text/html", value: message.html }
        ],
        custom_args: { tapline_message_id: message.id }
      })
    },
    // https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send: `headers`, an object.
    headersOf: (request) => JSON.parse(request.body).headers
  },
  {
    name: "mailgun",
    make: (baseUrl) =>
      Effect.succeed(
        MailgunEmail.make({
          apiKey: Redacted.make("key-test"),
          domain: "mg.tapline.test",
          from: FROM,
          baseUrl,
          timeout: TIMEOUT
        })
      ),
    accepted: json(200, { id: "<20261203.1@mg.tapline.test>", message: "Queued. Thank you." }),
    refused: json(400, { message: "'to' parameter is not a valid address. please check documentation" }),
    assertRequest: (request) => {
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/v3/mg.tapline.test/messages")
      expect(request.headers.authorization).toBe(`Basic ${Buffer.from("api:key-test").toString("base64")}`)
      expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
        from: FROM,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        "v:tapline-message-id": message.id
      })
    },
    // https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages: `h:X-My-Header` fields.
    headersOf: (request) =>
      Object.fromEntries(
        [...new URLSearchParams(request.body)]
          .filter(([name]) => name.startsWith("h:"))
          .map(([name, value]) => [name.slice(2), value])
      )
  },
  {
    name: "ses",
    make: (baseUrl) =>
      SesEmail.make({
        from: FROM,
        region: "eu-west-1",
        endpoint: Option.some(baseUrl),
        credentials: Option.some({ accessKeyId: "AKIDTEST", secretAccessKey: Redacted.make("ses-secret") }),
        timeout: TIMEOUT
      }),
    accepted: json(200, { MessageId: "010f018c-ses" }),
    refused: json(
      400,
      { message: "Email address is not verified." },
      { "x-amzn-errortype": "MessageRejected" }
    ),
    assertRequest: (request) => {
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/v2/email/outbound-emails")
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/ses\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/
      )
      expect(request.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/)
      expect(request.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(request.body)).toEqual({
        FromEmailAddress: FROM,
        Destination: { ToAddresses: [message.to] },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: "UTF-8" },
            Body: {
              Text: { Data: message.text, Charset: "UTF-8" },
              Html: { Data: message.html, Charset: "UTF-8" }
            }
          }
        }
      })
    },
    // https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_Message.html: `Content.Simple.Headers`.
    headersOf: (request) => nameValues(JSON.parse(request.body).Content.Simple.Headers)
  }
]

let peer: CaptureServer
beforeAll(async () => {
  peer = await startCaptureServer()
})
afterAll(() => peer.close())

for (const provider of providers) {
  describe(`Email contract: ${provider.name}`, () => {
    const send = (...replies: ReadonlyArray<Reply>) => {
      peer.requests.length = 0
      peer.reply(...replies)
      return run(Effect.flatMap(provider.make(peer.url), (email) => email.send(message)))
    }

    it("sends exactly the documented request, and an accepted message is sent", async () => {
      const result = await send(provider.accepted)
      expect(Either.isRight(result)).toBe(true)
      expect(peer.requests).toHaveLength(1)
      provider.assertRequest(peer.requests[0]!)
    })

    it("carries a journey's List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) in its documented header field", async () => {
      peer.requests.length = 0
      peer.reply(provider.accepted)
      const result = await run(Effect.flatMap(provider.make(peer.url), (email) => email.send(journeyMessage)))
      expect(Either.isRight(result)).toBe(true)
      expect(provider.headersOf(peer.requests[0]!)).toEqual(UNSUBSCRIBE)
    })

    it("carries the W3C traceparent of its Email.send span to the provider", async () => {
      peer.requests.length = 0
      peer.reply(provider.accepted)
      const outer = await run(
        Effect.flatMap(provider.make(peer.url), (email) =>
          email
            .send(message)
            .pipe(Effect.zipRight(Effect.orDie(Effect.currentSpan)), Effect.withSpan("outer"))
        )
      )
      const span = Either.getOrThrow(outer)
      const header = String(peer.requests[0]?.headers.traceparent)
      const [version, traceId, parentId, flags] = header.split("-")
      expect({ version, traceId, flags }).toEqual({ version: "00", traceId: span.traceId, flags: "01" })
      // Its parent is the client span of the send, inside the caller's.
      expect(parentId).toMatch(/^[0-9a-f]{16}$/)
      expect(parentId).not.toBe(span.spanId)
    })

    it("a 5xx is transient", async () => {
      const result = await send(json(503, { message: "service unavailable" }))
      expect(Either.getLeft(result).pipe(Option.map((e) => e.failure))).toEqual(Option.some("transient"))
    })

    it("a 429 is transient and carries its Retry-After", async () => {
      const result = await send(json(429, { message: "rate limited" }, { "retry-after": "7" }))
      const error = Either.getLeft(result).pipe(Option.getOrThrow)
      expect(error.failure).toBe("transient")
      expect(error.retryAfterSeconds).toBe(7)
    })

    it("the provider's refusal of the message is permanent, and the error says why without the key", async () => {
      const result = await send(provider.refused)
      const error = Either.getLeft(result).pipe(Option.getOrThrow)
      expect(error.failure).toBe("permanent")
      expect(error.provider).toBe(provider.name)
      expect(error.message).not.toMatch(/re_test_key|pm-server-token|SG\.test|key-test|ses-secret/)
    })

    it("a peer that never answers is a transient timeout", async () => {
      const result = await send("stall")
      const error = Either.getLeft(result).pipe(Option.getOrThrow)
      expect(error.failure).toBe("transient")
    })

    it("a stalled peer times out even when the garbage collector runs meanwhile (nodejs/node#57736)", async () => {
      // AbortSignal.any([signal, AbortSignal.timeout(ms)]) lost its timeout to a GC on Node 20: the send hung.
      const collect = Vm.runInNewContext("gc") as () => void
      const sending = send("stall")
      const collecting = setInterval(collect, 20)
      try {
        const error = Either.getLeft(await sending).pipe(Option.getOrThrow)
        expect(error.failure).toBe("transient")
      } finally {
        clearInterval(collecting)
      }
    })

    it("a peer that is not listening is transient", async () => {
      const port = await freePort()
      const result = await run(
        Effect.flatMap(provider.make(`http://127.0.0.1:${port}`), (email) => email.send(message))
      )
      expect(Either.getLeft(result).pipe(Option.map((e) => e.failure))).toEqual(Option.some("transient"))
    })
  })
}

describe("Email contract: smtp", () => {
  let smtp: SmtpPeer
  beforeAll(async () => {
    smtp = await startSmtpPeer({
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith("refused@"))
          return callback(Object.assign(new Error("5.1.1 mailbox unavailable"), { responseCode: 550 }))
        if (address.address.startsWith("later@"))
          return callback(Object.assign(new Error("4.7.1 try again later"), { responseCode: 451 }))
        callback()
      }
    })
  })
  afterAll(() => smtp.stop())

  const send = (to: string, url = `smtp://127.0.0.1:${smtp.port}`) =>
    run(
      Effect.flatMap(SmtpEmail.make({ url: Redacted.make(url), from: FROM, timeout: TIMEOUT }), (email) =>
        email.send({ ...message, to })
      )
    )

  it("delivers the message: sender, subject, text, HTML and a Message-ID from the message id", async () => {
    expect(Either.isRight(await send("ana@example.com"))).toBe(true)
    const mail = smtp.received.at(-1)!
    expect(mail.from?.text).toBe('"Tapline" <no-reply@tapline.test>')
    expect(mail.subject).toBe(message.subject)
    expect(mail.text?.trim()).toBe(message.text)
    expect(mail.html).toContain("<b>ünïcødé</b>")
    expect(mail.messageId).toBe(`<${message.id}@tapline>`)
  })

  it("sends a journey's List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) as message headers", async () => {
    const result = await run(
      Effect.flatMap(
        SmtpEmail.make({ url: Redacted.make(`smtp://127.0.0.1:${smtp.port}`), from: FROM, timeout: TIMEOUT }),
        (email) => email.send({ ...journeyMessage, to: "ana@example.com" })
      )
    )
    expect(Either.isRight(result)).toBe(true)
    const mail = smtp.received.at(-1)!
    const line = (name: string) =>
      mail.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, "")
    expect(line("list-unsubscribe")).toBe(UNSUBSCRIBE["List-Unsubscribe"])
    expect(line("list-unsubscribe-post")).toBe(UNSUBSCRIBE["List-Unsubscribe-Post"])
  })

  it("a 4xx reply is transient, a 5xx reply permanent", async () => {
    expect(Either.getLeft(await send("later@example.com")).pipe(Option.map((e) => e.failure))).toEqual(
      Option.some("transient")
    )
    expect(Either.getLeft(await send("refused@example.com")).pipe(Option.map((e) => e.failure))).toEqual(
      Option.some("permanent")
    )
  })

  it("a message nodemailer refuses before sending (no recipient) is permanent: a retry would refuse it too", async () => {
    const error = Either.getLeft(await send("")).pipe(Option.getOrThrow)
    expect(error.failure).toBe("permanent")
    expect(error.message).toContain("No recipients defined")
  })

  it("a server that is not listening is transient, and the error does not carry the URL's password", async () => {
    const closed = await freePort()
    const error = Either.getLeft(
      await send("ana@example.com", `smtp://user:hunter2@127.0.0.1:${closed}`)
    ).pipe(Option.getOrThrow)
    expect(error.failure).toBe("transient")
    expect(error.message).not.toContain("hunter2")
  })
})

describe("Email contract: log", () => {
  it("accepts every message (it only logs who and what)", async () => {
    expect(Either.isRight(await run(LogEmail.make.send(message)))).toBe(true)
  })
})

describe("Failover", () => {
  let first: CaptureServer
  let second: CaptureServer
  beforeAll(async () => {
    first = await startCaptureServer()
    second = await startCaptureServer()
  })
  afterAll(() => Promise.all([first.close(), second.close()]))

  const failover = Effect.succeed(
    Failover.make([
      ResendEmail.make({ apiKey: Redacted.make("re_k"), from: FROM, baseUrl: "", timeout: TIMEOUT }),
      PostmarkEmail.make({
        serverToken: Redacted.make("pm_k"),
        from: FROM,
        baseUrl: "",
        messageStream: "outbound",
        timeout: TIMEOUT
      })
    ])
  )
  const sendThrough = (replies: { first: ReadonlyArray<Reply>; second: ReadonlyArray<Reply> }) => {
    first.requests.length = 0
    second.requests.length = 0
    first.reply(...replies.first)
    second.reply(...replies.second)
    const providers = Failover.make([
      ResendEmail.make({ apiKey: Redacted.make("re_k"), from: FROM, baseUrl: first.url, timeout: TIMEOUT }),
      PostmarkEmail.make({
        serverToken: Redacted.make("pm_k"),
        from: FROM,
        baseUrl: second.url,
        messageStream: "outbound",
        timeout: TIMEOUT
      })
    ])
    return run(providers.send(message))
  }

  it("names its providers in order", async () => {
    expect((await Effect.runPromise(failover)).provider).toBe("resend,postmark")
  })

  it("a 5xx, a 429 or a timeout of the first provider moves the message to the next", async () => {
    for (const trouble of [json(500, {}), json(429, {}, { "retry-after": "30" }), "stall" as const]) {
      const result = await sendThrough({ first: [trouble], second: [json(200, { ErrorCode: 0 })] })
      expect(Either.isRight(result)).toBe(true)
      expect(first.requests).toHaveLength(1)
      expect(second.requests).toHaveLength(1)
      expect(JSON.parse(second.requests[0]!.body).To).toBe(message.to)
    }
  })

  it("a permanent refusal stops the list: the next provider is not asked", async () => {
    const result = await sendThrough({ first: [json(422, { name: "validation_error" })], second: [] })
    expect(Either.getLeft(result).pipe(Option.map((e) => e.failure))).toEqual(Option.some("permanent"))
    expect(second.requests).toHaveLength(0)
  })

  it("when every provider fails transiently the error is transient, with the shortest Retry-After", async () => {
    const result = await sendThrough({
      first: [json(429, {}, { "retry-after": "30" })],
      second: [json(429, { ErrorCode: 429 }, { "retry-after": "12" })]
    })
    const error = Either.getLeft(result).pipe(Option.getOrThrow)
    expect(error.failure).toBe("transient")
    expect(error.retryAfterSeconds).toBe(12)
    expect(error.message).toContain("resend answered 429")
    expect(error.message).toContain("postmark answered 429")
  })
})
