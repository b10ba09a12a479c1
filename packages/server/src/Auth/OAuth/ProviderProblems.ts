import { categoryOf } from "../../Outbound/OutboundErrors.js"
import { DiscoveryInvalid, OAuthFailure } from "./OAuthProvider.js"

/** What the sign-in page is told (`?error=`): a category, never an address. */
export type ProblemReason = "outbound_refused" | "unreachable" | "discovery"

export interface ProviderProblem {
  readonly reason: ProblemReason
  /** For the ADMIN's provider list and the log: "refused by the outbound policy", "unreachable", … */
  readonly category: string
  /** For the log only: the URL the failing request went to, when known. */
  readonly url: string | undefined
  /** For the log only: what went wrong, in our words or the document's. */
  readonly detail: string
}

const causes = function* (error: unknown) {
  let current: unknown = error
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    yield current
    current = (current as { cause?: unknown }).cause
  }
}

/** Why a provider could not be used, from whatever its request threw (ours, undici's, Node's). */
export const problemOf = (error: unknown): ProviderProblem => {
  const chain = [...causes(error)]
  const url = chain.find((e): e is OAuthFailure => e instanceof OAuthFailure && e.url !== undefined)?.url
  const invalid = chain.find((e) => e instanceof DiscoveryInvalid)
  if (invalid !== undefined) {
    return { reason: "discovery", category: "bad discovery document", url, detail: invalid.message }
  }
  const category = categoryOf(error)
  return {
    reason: category === "refused by the outbound policy" ? "outbound_refused" : "unreachable",
    category,
    url,
    // The whole chain, e.g. "OIDC discovery of … failed: fetch failed: connect ECONNREFUSED …": the log's reader
    // is the operator, who may see addresses.
    detail: chain.length === 0 ? String(error) : chain.map((e) => e.message).join(": ")
  }
}
