import * as HttpApp from "@effect/platform/HttpApp"
import { Effect, Option } from "effect"
import { Metrics } from "../Telemetry/Metrics.js"

/** A request's route class: a handful of values whatever the path says (no ids in a label). */
export const routeClass = (url: string): string => {
  if (url.startsWith("/api/v1/docs") || url.startsWith("/sign-in")) return "pages"
  if (url.startsWith("/api/")) return "api"
  if (url.startsWith("/health/")) return "health"
  if (url.startsWith("/metrics")) return "metrics"
  if (url.startsWith("/storage/")) return "storage"
  if (url.startsWith("/logos/")) return "logos"
  return "other"
}

/**
 * Times every request of the Effect HTTP stack (the redirect counts itself, outside it) by route class and
 * status class. A pre-response handler, so error answers are timed too.
 */
export const measured = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.flatMap(Effect.serviceOption(Metrics), (found) => {
    if (Option.isNone(found) || !found.value.enabled) return app
    const metrics = found.value
    const started = performance.now()
    return Effect.zipRight(
      HttpApp.appendPreResponseHandler((request, response) =>
        Effect.sync(() => {
          metrics.http.observe(
            { route: routeClass(request.url), status: `${Math.floor(response.status / 100)}xx` },
            (performance.now() - started) / 1000
          )
          return response
        })
      ),
      app
    )
  })
