import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as ApnsPush from "./ApnsPush.js"
import * as Failover from "./Failover.js"
import * as FcmPush from "./FcmPush.js"
import * as LogPush from "./LogPush.js"
import { Push } from "./Push.js"
import type { PushProvider, PushProviderName } from "./PushConfig.js"
import * as WebPush from "./WebPush.js"

/**
 * The registry: each name PUSH_PROVIDERS takes, and the module that builds it from its own variables. A new
 * provider is one file here and one row below (and its name in PushConfig's list).
 */
export const providers = {
  webpush: WebPush,
  fcm: FcmPush,
  apns: ApnsPush,
  log: LogPush
} satisfies Record<PushProviderName, PushProvider>

/**
 * The providers PUSH_PROVIDERS names, in failover order, as one Push. Each reads its own variables (a missing
 * one stops the start, naming it) and loads its library only now, so an unnamed provider costs nothing. None
 * named: a Push whose every send fails permanently ("no push provider is configured").
 */
export const layerConfig = Layer.scoped(
  Push,
  Effect.gen(function* () {
    const { push, outbound } = yield* AppConfig
    const metrics = yield* Metrics
    // FCM's and APNs' hosts are the operator's; a Web Push endpoint is whoever subscribed's.
    const endpoints = OutboundClient.make(OutboundPolicy.make(outbound.allow))
    const shared = { timeout: push.timeout, endpointFetch: endpoints.fetch }
    const built = yield* Effect.forEach(push.providers, (name) => providers[name].fromConfig(shared))
    return Failover.make(built, (provider, outcome) => metrics.pushes.inc({ provider, outcome }))
  })
)
