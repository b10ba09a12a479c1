import { Effect } from "effect"
import type { OutboundClient } from "../Outbound/OutboundClient.js"
import { categoryOf } from "../Outbound/OutboundErrors.js"
import type { Outcome } from "../Outbox/Destination.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"

export type { Outcome } from "../Outbox/Destination.js"

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

/** How the HTTP destinations send: one POST to `url`, with the current trace's headers. */
export type HttpSend = (
  url: string,
  request: { readonly headers: Record<string, string>; readonly body: string }
) => Effect.Effect<Outcome>

/** POSTs through `client` within `timeoutMs` (see `post`), the trace continuing at the receiver. */
export const httpSend =
  (client: OutboundClient, timeoutMs: number): HttpSend =>
  (url, request) =>
    Effect.flatMap(outgoingTraceHeaders, (trace) =>
      Effect.promise(() =>
        post(client, url, { ...request, headers: { ...request.headers, ...trace } }, timeoutMs)
      )
    )
