import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as LogEmail from "./LogEmail.js"
import * as SmtpEmail from "./SmtpEmail.js"

/** The provider EMAIL_PROVIDER names; SMTP needs SMTP_URL. */
export const layerFromConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { email } = yield* AppConfig
    if (email.provider === "log") return LogEmail.layer
    if (Option.isNone(email.smtpUrl)) return yield* Effect.dieMessage("EMAIL_PROVIDER=smtp needs SMTP_URL")
    return SmtpEmail.layer({ url: email.smtpUrl.value, from: email.from })
  })
)
