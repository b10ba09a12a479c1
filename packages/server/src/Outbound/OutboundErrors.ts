/*
 * Why an outbound request did not happen, in three categories a tenant may read ("refused by the outbound
 * policy", "unreachable", "did not answer in time"). The messages never carry what a name resolved to: a
 * tenant who could read it would have a resolver for the server's private network.
 */

/** The policy refused the URL or every address it could go to. */
export class OutboundRefused extends Error {
  readonly _tag = "OutboundRefused"
  override readonly name = "OutboundRefused"
}

/** The name does not resolve, or no address took the connection. */
export class OutboundUnreachable extends Error {
  readonly _tag = "OutboundUnreachable"
  override readonly name = "OutboundUnreachable"
}

/** Resolution or connection took longer than allowed. */
export class OutboundTimeout extends Error {
  readonly _tag = "OutboundTimeout"
  override readonly name = "OutboundTimeout"
}

export type OutboundCategory = "refused by the outbound policy" | "unreachable" | "did not answer in time"

const TIMEOUT_NAMES = new Set([
  "TimeoutError",
  "ConnectTimeoutError",
  "HeadersTimeoutError",
  "BodyTimeoutError"
])
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT"])

/**
 * The category of any failure of an outbound request (ours, undici's, Node's), following `cause` links:
 * `fetch` wraps what the connector threw in a TypeError("fetch failed").
 */
export const categoryOf = (error: unknown): OutboundCategory => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof OutboundRefused) return "refused by the outbound policy"
    if (current instanceof OutboundTimeout) return "did not answer in time"
    const code = (current as { code?: unknown }).code
    if (TIMEOUT_NAMES.has(current.name) || (typeof code === "string" && TIMEOUT_CODES.has(code))) {
      return "did not answer in time"
    }
    current = (current as { cause?: unknown }).cause
  }
  return "unreachable"
}

/** The message of the first of our errors in `error`'s cause chain, for an operator's log. */
export const reasonOf = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof OutboundRefused || current instanceof OutboundTimeout) return current.message
    if (current instanceof OutboundUnreachable) return current.message
    current = (current as { cause?: unknown }).cause
  }
  return error instanceof Error ? error.message : String(error)
}
