import type { WebhookKind } from "@tapline/domain"
import type * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { chatTextOf } from "./chat/ChatText.js"
import * as Discord from "./chat/Discord.js"
import * as Slack from "./chat/Slack.js"
import * as Teams from "./chat/Teams.js"
import { signedHeaders } from "./Signature.js"

/** One message as an endpoint of `kind` receives it: a signed Standard Webhooks body, or a chat message. */
export const requestOf = (message: {
  readonly kind: WebhookKind
  readonly id: string
  readonly eventType: string
  readonly data: Record<string, unknown>
  readonly createdAt: Date
  /** The current secret first, then the previous one during a rotation's overlap. */
  readonly secrets: ReadonlyArray<string>
  readonly now: Date
}): { readonly headers: Record<string, string>; readonly body: string } => {
  const json = { "content-type": "application/json", "user-agent": "Tapline-Webhooks/1" }
  if (message.kind === "webhook") {
    const body = JSON.stringify({
      type: message.eventType,
      timestamp: message.createdAt.toISOString(),
      data: message.data
    })
    const timestamp = Math.floor(message.now.getTime() / 1000)
    return { headers: { ...json, ...signedHeaders(message.secrets, message.id, timestamp, body) }, body }
  }
  const text = chatTextOf(message.eventType, message.data)
  const payload =
    message.kind === "slack"
      ? Slack.payload(text)
      : message.kind === "discord"
        ? Discord.payload(text)
        : Teams.payload(text)
  return { headers: json, body: JSON.stringify(payload) }
}

export interface Outcome {
  /** The receiver's status; null when there was no answer (timeout, refused, policy). */
  readonly status: number | null
  readonly error: string | null
}

/** The start of an answer's body, for the delivery log; the rest is not read. */
const readSome = async (response: Response, limit: number) => {
  const reader = response.body?.getReader()
  if (reader === undefined) return ""
  const chunks: Array<Uint8Array> = []
  let size = 0
  while (size < limit) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.length
  }
  await reader.cancel().catch(() => {})
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8")
}

/** Rejects when `deadline` aborts first; the promise itself is left to settle on its own. */
const withDeadline = <A>(promise: Promise<A>, deadline: AbortSignal) =>
  new Promise<A>((resolve, reject) => {
    const abort = () => reject(deadline.reason)
    if (deadline.aborted) return abort()
    deadline.addEventListener("abort", abort, { once: true })
    promise.then(resolve, reject).finally(() => deadline.removeEventListener("abort", abort))
  })

/**
 * POSTs one request. The URL is vetted again before every attempt (what a name resolves to can change);
 * redirects are not followed (a 3xx is a failed delivery). Never rejects: the outcome says what happened,
 * without the URL (a chat webhook's URL is its secret).
 */
export const post = async (
  policy: OutboundPolicy.OutboundPolicy,
  url: string,
  request: { readonly headers: Record<string, string>; readonly body: string },
  timeoutMs: number
): Promise<Outcome> => {
  // One budget for the whole attempt (address check, connection, answer): a receiver or a resolver that
  // stops answering holds its dispatcher slot for `timeoutMs` at most.
  const deadline = AbortSignal.timeout(timeoutMs)
  try {
    await withDeadline(policy.vet(url), deadline)
  } catch (error) {
    if (deadline.aborted) return { status: null, error: `no answer within ${timeoutMs} ms` }
    return { status: null, error: `refused by the outbound policy: ${(error as Error).message}` }
  }
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: deadline
    })
    const answer = await readSome(response, 300).catch(() => "")
    if (response.status >= 200 && response.status < 300) return { status: response.status, error: null }
    return {
      status: response.status,
      error: `HTTP ${response.status}${answer.length > 0 ? `: ${answer}` : ""}`
    }
  } catch (error) {
    const failure = error as Error & { cause?: { code?: string } }
    if (failure.name === "TimeoutError") return { status: null, error: `no answer within ${timeoutMs} ms` }
    return { status: null, error: `unreachable: ${failure.cause?.code ?? failure.message}` }
  }
}
