import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as Failover from "./Failover.js"
import * as LogSms from "./LogSms.js"
import { Sms } from "./Sms.js"
import type { SmsProvider, SmsProviderName } from "./SmsConfig.js"
import * as SnsSms from "./SnsSms.js"
import * as TwilioSms from "./TwilioSms.js"
import * as VonageSms from "./VonageSms.js"

/**
 * The registry: each name SMS_PROVIDERS takes, and the module that builds it from its own variables. A new
 * provider is one file here and one row below (and its name in SmsConfig's list).
 */
export const providers = {
  twilio: TwilioSms,
  sns: SnsSms,
  vonage: VonageSms,
  log: LogSms
} satisfies Record<SmsProviderName, SmsProvider>

/**
 * The providers SMS_PROVIDERS names, in failover order, as one Sms. Each reads its own variables (a missing
 * one stops the start, naming it) and loads its SDK only now, so an unnamed provider costs nothing. None named:
 * an Sms whose `provider` is "" and whose every send fails permanently, saying SMS_PROVIDERS is unset.
 */
export const layerConfig = Layer.scoped(
  Sms,
  Effect.gen(function* () {
    const { sms, server } = yield* AppConfig
    const metrics = yield* Metrics
    const shared = { timeout: sms.timeout, publicUrl: server.publicUrl }
    const built = yield* Effect.forEach(sms.providers, (name) => providers[name].fromConfig(shared))
    return Failover.make(built, (provider, outcome) => metrics.sms.inc({ provider, outcome }))
  })
)
