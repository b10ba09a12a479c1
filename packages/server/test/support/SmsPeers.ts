import * as Http from "node:http"
import { freePort } from "@tapline/testing/ports"

/*
 * Loopback stand-ins for the hosted SMS APIs (Twilio, AWS SNS, Vonage). Each peer holds every request to what
 * its provider documents (method, path, authentication, content type, the parameters it requires) and records
 * any difference in `problems`, answering it with a 400 so the send cannot pass by accident; a test expects
 * `problems` to stay empty. What it answers otherwise is scripted by the test, from the provider's documented
 * bodies below: accepted, a permanent refusal of the message, a 5xx, a 429 with Retry-After, or nothing.
 */

export interface SmsRequest {
  readonly method: string
  /** Path and query, as sent. */
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** The form body's parameters (all three providers take a form). */
  readonly form: Readonly<Record<string, string>>
}

/** A status with headers and body, or nothing at all (a hung peer). */
export type Reply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | "stall"

export interface SmsDialect {
  readonly name: "twilio" | "sns" | "vonage"
  /** What in the request differs from the provider's documentation; empty when nothing does. */
  readonly check: (request: SmsRequest) => ReadonlyArray<string>
  /** The provider's answer to an accepted message, carrying `id` where the provider puts its message id. */
  readonly accepted: (id: string) => Reply
  /** The provider's documented refusal of an invalid or opted-out number: permanent. */
  readonly refused: Reply
  /** A 5xx as the provider sends one. */
  readonly unavailable: Reply
  /** A 429 with Retry-After, as the provider sends one. */
  readonly rateLimited: (seconds: number) => Reply
}

export interface SmsPeer {
  readonly url: string
  readonly requests: Array<SmsRequest>
  readonly problems: Array<string>
  /** Replies for the next requests, in order; when none is queued the peer accepts with a fresh id. */
  readonly reply: (...replies: ReadonlyArray<Reply>) => void
  /** Forgets requests, problems and queued replies. */
  readonly reset: () => void
  readonly close: () => Promise<void>
}

export const startSmsPeer = async (dialect: SmsDialect): Promise<SmsPeer> => {
  const requests: Array<SmsRequest> = []
  const problems: Array<string> = []
  const queued: Array<Reply> = []
  const stalled = new Set<Http.ServerResponse>()
  let accepted = 0
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const captured: SmsRequest = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body,
        form: Object.fromEntries(new URLSearchParams(body))
      }
      requests.push(captured)
      const found = dialect.check(captured)
      if (found.length > 0) {
        problems.push(...found.map((problem) => `${dialect.name}: ${problem}`))
        response.writeHead(400, { "content-type": "text/plain" }).end(`peer: ${found.join("; ")}`)
        return
      }
      const reply = queued.shift() ?? dialect.accepted(`${dialect.name}-auto-${++accepted}`)
      if (reply === "stall") {
        stalled.add(response)
        return
      }
      response.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? "")
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    problems,
    reply: (...replies) => void queued.push(...replies),
    reset: () => {
      requests.length = 0
      problems.length = 0
      queued.length = 0
    },
    close: () =>
      new Promise((resolve) => {
        for (const response of stalled) response.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

// ---------------------------------------------------------------------------------------------------------
// What each provider documents

const FORM = "application/x-www-form-urlencoded"
const E164 = /^\+[1-9]\d{1,14}$/
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body)
})

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

/** Problems of a request every provider shares: a POST of a form, with our trace context. */
const formPost = (request: SmsRequest, path: string): Array<string> => {
  const problems: Array<string> = []
  if (request.method !== "POST") problems.push(`method ${request.method}, expected POST`)
  if (request.url !== path) problems.push(`path ${request.url}, expected ${path}`)
  if (!String(request.headers["content-type"]).startsWith(FORM))
    problems.push(`content-type ${request.headers["content-type"]}, expected ${FORM}`)
  if (!TRACEPARENT.test(String(request.headers.traceparent))) problems.push("no W3C traceparent")
  return problems
}

/** Parameters beyond `allowed`, and `needed` ones that are missing or empty. */
const parameters = (
  form: Readonly<Record<string, string>>,
  needed: ReadonlyArray<string>,
  allowed: ReadonlyArray<string>
) => [
  ...needed.filter((name) => !form[name]).map((name) => `parameter ${name} missing`),
  ...Object.keys(form)
    .filter((name) => !needed.includes(name) && !allowed.includes(name))
    .map((name) => `parameter ${name} is not documented`)
]

/**
 * Twilio Programmable Messaging, https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource:
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth (Account SID, Auth Token), a form with
 * `To` (E.164), `From` or `MessagingServiceSid`, `Body`, optionally `StatusCallback`. 201 with the Message
 * resource; errors as `{ code, message, more_info, status }` (https://www.twilio.com/docs/api/errors).
 */
export const twilio = (accountSid: string, authToken: string): SmsDialect => ({
  name: "twilio",
  check: (request) => {
    const problems = formPost(request, `/2010-04-01/Accounts/${accountSid}/Messages.json`)
    if (request.headers.authorization !== basic(accountSid, authToken))
      problems.push("not basic auth with SID and token")
    const { form } = request
    if (!E164.test(form.To ?? "")) problems.push(`To ${form.To} is not E.164`)
    if ((form.From === undefined) === (form.MessagingServiceSid === undefined))
      problems.push("needs exactly one of From and MessagingServiceSid")
    problems.push(...parameters(form, ["To", "Body"], ["From", "MessagingServiceSid", "StatusCallback"]))
    return problems
  },
  accepted: (id) =>
    json(201, {
      account_sid: accountSid,
      api_version: "2010-04-01",
      body: "…",
      direction: "outbound-api",
      num_segments: "1",
      sid: id,
      status: "queued",
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${id}.json`
    }),
  refused: json(400, {
    code: 21211,
    message: "Invalid 'To' Phone Number: +44770090XXXX",
    more_info: "https://www.twilio.com/docs/errors/21211",
    status: 400
  }),
  unavailable: json(503, { code: 20503, message: "Service unavailable", status: 503 }),
  rateLimited: (seconds) =>
    json(429, { code: 20429, message: "Too Many Requests", status: 429 }, { "retry-after": String(seconds) })
})

/**
 * Vonage SMS API, https://developer.vonage.com/en/api/sms: `POST /sms/json`, a form with `from`, `to` (the number
 * without its "+"), `text`, optionally `type` (`text` or `unicode`) and `client-ref`; the API key and secret
 * in basic auth. 200 with one status per part (`"0"`: accepted, with its `message-id`); errors as a non-zero
 * status in the same body (https://developer.vonage.com/en/api-errors/sms).
 */
export const vonage = (apiKey: string, apiSecret: string): SmsDialect => ({
  name: "vonage",
  check: (request) => {
    const problems = formPost(request, "/sms/json")
    if (request.headers.authorization !== basic(apiKey, apiSecret))
      problems.push("not basic auth with key and secret")
    const { form } = request
    if (!/^[1-9]\d{1,14}$/.test(form.to ?? "")) problems.push(`to ${form.to} is not E.164 without its "+"`)
    if (form.type !== undefined && !["text", "unicode"].includes(form.type))
      problems.push(`type ${form.type}`)
    if ((form["client-ref"] ?? "").length > 100) problems.push("client-ref longer than 100 characters")
    problems.push(...parameters(form, ["from", "to", "text"], ["type", "client-ref"]))
    return problems
  },
  accepted: (id) =>
    json(200, {
      "message-count": "1",
      messages: [
        {
          to: "447700900123",
          "message-id": id,
          status: "0",
          "remaining-balance": "3.14159265",
          "message-price": "0.03330000",
          network: "23410"
        }
      ]
    }),
  refused: json(200, {
    "message-count": "1",
    messages: [{ status: "6", "error-text": "Unroutable message - rejected" }]
  }),
  unavailable: {
    status: 503,
    headers: { "content-type": "text/html" },
    body: "<html>503 Service Unavailable</html>"
  },
  rateLimited: (seconds) =>
    json(
      429,
      { type: "https://developer.vonage.com/api-errors#throttled", title: "Too Many Requests" },
      { "retry-after": String(seconds) }
    )
})

/**
 * AWS SNS Publish, https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, in the Query protocol: `POST /`
 * with a form of `Action=Publish`, `Version=2010-03-31`, `PhoneNumber` (E.164), `Message` and
 * `MessageAttributes.entry.N.*`, signed with SigV4 for service `sns` in the client's region. 200 with a
 * `PublishResponse` XML carrying the `MessageId`; errors as an `ErrorResponse` XML with a `Code`.
 */
export const sns = (accessKeyId: string, region: string): SmsDialect => ({
  name: "sns",
  check: (request) => {
    const problems = formPost(request, "/")
    const signature = new RegExp(
      `^AWS4-HMAC-SHA256 Credential=${accessKeyId}/\\d{8}/${region}/sns/aws4_request, ` +
        "SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$"
    )
    if (!signature.test(String(request.headers.authorization)))
      problems.push(`authorization ${request.headers.authorization} is not SigV4 for sns in ${region}`)
    if (!/^\d{8}T\d{6}Z$/.test(String(request.headers["x-amz-date"]))) problems.push("no x-amz-date")
    const { form } = request
    if (form.Action !== "Publish") problems.push(`Action ${form.Action}, expected Publish`)
    if (form.Version !== "2010-03-31") problems.push(`Version ${form.Version}, expected 2010-03-31`)
    if (!E164.test(form.PhoneNumber ?? "")) problems.push(`PhoneNumber ${form.PhoneNumber} is not E.164`)
    if (form.TopicArn !== undefined || form.TargetArn !== undefined)
      problems.push("a topic besides the number")
    const attributes = Object.keys(form).filter((name) => name.startsWith("MessageAttributes.entry."))
    problems.push(
      ...parameters(
        form,
        ["Action", "Version", "PhoneNumber", "Message"],
        [
          ...attributes.filter((name) =>
            /^MessageAttributes\.entry\.\d+\.(Name|Value\.DataType|Value\.StringValue)$/.test(name)
          )
        ]
      )
    )
    return problems
  },
  accepted: (id) =>
    xml(
      200,
      `<PublishResponse xmlns="${SNS_XMLNS}"><PublishResult><MessageId>${id}</MessageId></PublishResult>` +
        `${REQUEST_ID}</PublishResponse>`
    ),
  refused: snsError(
    400,
    "Sender",
    "InvalidParameter",
    "Invalid parameter: PhoneNumber Reason: +44770090XXXX is not valid to publish to"
  ),
  unavailable: snsError(500, "Receiver", "InternalError", "Indicates an internal service error."),
  rateLimited: (seconds) => ({
    ...(snsError(429, "Sender", "Throttled", "Rate exceeded") as Exclude<Reply, "stall">),
    headers: { "content-type": "text/xml", "retry-after": String(seconds) }
  })
})

const SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
const AWS_REQUEST_ID = "f187a3c1-376f-11df-8963-01868b7c937a"
const REQUEST_ID = `<ResponseMetadata><RequestId>${AWS_REQUEST_ID}</RequestId></ResponseMetadata>`

const xml = (status: number, body: string): Reply => ({
  status,
  headers: { "content-type": "text/xml" },
  body
})

export const snsError = (status: number, type: string, code: string, message: string): Reply =>
  xml(
    status,
    `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>${AWS_REQUEST_ID}</RequestId></ErrorResponse>`
  )

/** The SNS form's message attributes, as `{ name: value }`. */
export const snsAttributes = (form: Readonly<Record<string, string>>) => {
  const attributes: Record<string, string> = {}
  for (let n = 1; form[`MessageAttributes.entry.${n}.Name`] !== undefined; n++) {
    attributes[form[`MessageAttributes.entry.${n}.Name`]!] =
      `${form[`MessageAttributes.entry.${n}.Value.DataType`]}:${form[`MessageAttributes.entry.${n}.Value.StringValue`]}`
  }
  return attributes
}
