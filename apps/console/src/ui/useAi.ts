import { OrganizationId } from "@tapline/domain"
import { useEffect, useState } from "react"
import { call, tagOf } from "../api.js"

/**
 * Whether this server has a language model: `unavailable` when the API says AiUnavailable (no provider key),
 * and the console then shows nothing of its AI features. `unknown` until it has answered. Any other failure
 * counts as available: the screen itself then shows what went wrong.
 */
export type AiAvailability = "unknown" | "available" | "unavailable"

export const useAiAvailability = (organizationId: string | null): AiAvailability => {
  const [state, setState] = useState<{ readonly org: string | null; readonly found: AiAvailability }>({
    org: null,
    found: "unknown"
  })
  useEffect(() => {
    if (organizationId === null) return
    let current = true
    const organization = OrganizationId.make(organizationId)
    call((c) => c.ai.usage({ path: { organizationId: organization }, urlParams: {} }))
      .then(() => "available" as const)
      .catch((failure: unknown) => (tagOf(failure) === "AiUnavailable" ? "unavailable" : "available"))
      .then((found) => current && setState({ org: organizationId, found }))
    return () => {
      current = false
    }
  }, [organizationId])
  return state.org === organizationId ? state.found : "unknown"
}
