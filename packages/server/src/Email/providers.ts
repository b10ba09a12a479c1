import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { Metrics } from "../Telemetry/Metrics.js"
import { Email } from "./Email.js"
import type { EmailProvider, EmailProviderName } from "./EmailConfig.js"
import * as Failover from "./Failover.js"
import * as LogEmail from "./LogEmail.js"
import * as MailgunEmail from "./MailgunEmail.js"
import * as PostmarkEmail from "./PostmarkEmail.js"
import * as ResendEmail from "./ResendEmail.js"
import * as SendGridEmail from "./SendGridEmail.js"
import * as SesEmail from "./SesEmail.js"
import * as SmtpEmail from "./SmtpEmail.js"

/**
 * The registry: each name EMAIL_PROVIDERS takes, and the module that builds it from its own variables. A new
 * provider is one file here and one row below (and its name in EmailConfig's list).
 */
export const providers = {
  log: LogEmail,
  smtp: SmtpEmail,
  resend: ResendEmail,
  postmark: PostmarkEmail,
  ses: SesEmail,
  sendgrid: SendGridEmail,
  mailgun: MailgunEmail
} satisfies Record<EmailProviderName, EmailProvider>

/**
 * The providers EMAIL_PROVIDERS names, in failover order, as one Email. Each reads its own variables (a
 * missing one stops the start, naming it) and loads its SDK only now, so an unnamed provider costs nothing.
 */
export const layerConfig = Layer.scoped(
  Email,
  Effect.gen(function* () {
    const { email } = yield* AppConfig
    const metrics = yield* Metrics
    const shared = { from: email.from, timeout: email.timeout }
    const built = yield* Effect.forEach(email.providers, (name) => providers[name].fromConfig(shared))
    return Failover.make(built, (provider, outcome) => metrics.emails.inc({ provider, outcome }))
  })
)
