import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import { Effect, Layer } from "effect"
import { Metrics } from "../Telemetry/Metrics.js"
import { CallbacksConfig } from "./CallbacksConfig.js"
import { counter } from "./Replies.js"
import { SmsCallbacks } from "./SmsCallbacks.js"
import { SnsCertificates } from "./SnsCertificates.js"
import { snsHandler } from "./SnsRoutes.js"
import { twilioHandlers } from "./TwilioRoutes.js"
import { vonageHandlers } from "./VonageRoutes.js"

/**
 * The routes SMS providers call back, outside the admin API (no session, no API key: the provider's
 * signature is the credential). Bodies are capped at 64 kB by BodyGuard (`/hooks/`) before anything reads them.
 */
export const routes = Effect.gen(function* () {
  const callbacks = yield* SmsCallbacks
  const certificates = yield* SnsCertificates
  const settings = yield* CallbacksConfig
  const count = counter(yield* Metrics)
  const twilio = twilioHandlers(callbacks, settings, count)
  const vonage = vonageHandlers(callbacks, settings, count)
  return HttpRouter.empty.pipe(
    HttpRouter.post("/hooks/sms/twilio/status", twilio.status),
    HttpRouter.post("/hooks/sms/twilio/inbound", twilio.inbound),
    HttpRouter.post("/hooks/sms/vonage/status", vonage.status),
    HttpRouter.get("/hooks/sms/vonage/status", vonage.status),
    HttpRouter.post("/hooks/sms/vonage/inbound", vonage.inbound),
    HttpRouter.get("/hooks/sms/vonage/inbound", vonage.inbound),
    HttpRouter.post("/hooks/sms/sns", snsHandler(callbacks, certificates, settings, count))
  )
})

/** The services the routes use (and their settings), on the platform's database, audit and metrics. */
export const servicesLayer = Layer.mergeAll(SmsCallbacks.Default, SnsCertificates.Default).pipe(
  Layer.provideMerge(CallbacksConfig.layer)
)

/** Mounted beside the admin API (Http/HttpApp.ts), as the unsubscribe and registration pages are. */
export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.flatMap(routes, (callbacks) => router.concat(callbacks))
).pipe(Layer.provide(servicesLayer))
