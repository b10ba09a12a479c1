import type { WebhookKind } from "@tapline/domain"
import type { OutboundClient } from "../Outbound/OutboundClient.js"
import { categoryOf } from "../Outbound/OutboundErrors.js"
import { chatTextOf } from "./chat/ChatText.js"
import * as Chat from "./chat/providers.js"
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
  return { headers: json, body: JSON.stringify(Chat.providers[message.kind].payload(text)) }
}

export interface Outcome {
  /** The receiver's status; null when there was no answer (timeout, refused, policy). */
  readonly status: number | null
  readonly error: string | null
  /** Why there was no answer, for the operator's log only (it may name addresses). */
  readonly cause?: unknown
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

/**
 * POSTs one request through `client`, which checks every address it connects to (what a name resolves to can
 * change between saving the URL and any attempt); redirects are not followed (a 3xx is a failed delivery).
 * Never rejects: the outcome says what happened, in words that name neither the URL (a chat webhook's URL is
 * its secret) nor what its host resolved to; `cause` keeps the error for the operator's log.
 */
export const post = async (
  client: OutboundClient,
  url: string,
  request: { readonly headers: Record<string, string>; readonly body: string },
  timeoutMs: number
): Promise<Outcome> => {
  // One budget for the whole attempt (the address check at connect, the connection, the answer): a receiver
  // or a resolver that stops answering holds its dispatcher slot for `timeoutMs` at most.
  const deadline = AbortSignal.timeout(timeoutMs)
  try {
    const response = await client.fetch(url, {
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
  } catch (cause) {
    return { status: null, error: categoryOf(cause), cause }
  }
}
