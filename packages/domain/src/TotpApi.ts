import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Authentication } from "./Authentication.js"
import { Conflict, Forbidden, InvalidRequest, TooManyRequests, Unauthorized } from "./Errors.js"
import { NoContent } from "./Params.js"
import { SessionTokens } from "./SessionsApi.js"

const Code = Schema.String.pipe(Schema.pattern(/^\d{6}$/), Schema.annotations({ examples: ["123456"] }))
const BackupCode = Schema.String.pipe(Schema.maxLength(40), Schema.annotations({ examples: ["abcde-fghjk"] }))

export const TotpEnrolment = Schema.Struct({
  secret: Schema.String,
  otpauthUri: Schema.String,
  /** The otpauth URI as a QR code (SVG), for an authenticator app to scan. */
  qrSvg: Schema.String
})

export const SecondFactor = Schema.Struct({
  code: Schema.optional(Code),
  backupCode: Schema.optional(BackupCode)
}).annotations({ examples: [{ code: "123456" }] })

export const SecondFactorSignIn = Schema.Struct({
  /** From the sign-in step that asked for the second factor. */
  ticket: Schema.String.pipe(Schema.maxLength(200)),
  code: Schema.optional(Code),
  backupCode: Schema.optional(BackupCode),
  /** `bearer`: tokens in the body for an API client; `cookie` (default): cookies for a browser. */
  transport: Schema.optionalWith(Schema.Literal("cookie", "bearer"), { default: () => "cookie" as const })
}).annotations({ examples: [{ ticket: "tlt_…", code: "123456", transport: "cookie" } as never] })

export class TotpApi extends HttpApiGroup.make("totp")
  .add(
    HttpApiEndpoint.post("enrol", "/api/v1/me/totp")
      .addSuccess(TotpEnrolment, { status: 201 })
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Starts TOTP enrolment: a new secret, active once a code from it is confirmed."
      )
  )
  .add(
    HttpApiEndpoint.post("confirm", "/api/v1/me/totp/confirm")
      .setPayload(Schema.Struct({ code: Code }))
      .addSuccess(Schema.Struct({ backupCodes: Schema.Array(Schema.String) }))
      .middleware(Authentication)
      .annotate(
        OpenApi.Description,
        "Enables TOTP. The 10 single-use backup codes are in this response only."
      )
  )
  .add(
    HttpApiEndpoint.post("disable", "/api/v1/me/totp/disable")
      .setPayload(SecondFactor)
      .addSuccess(NoContent)
      .middleware(Authentication)
      .annotate(OpenApi.Description, "Disables TOTP; needs a current code or a backup code.")
  )
  .add(
    HttpApiEndpoint.post("signIn", "/api/v1/auth/second-factor")
      .setPayload(SecondFactorSignIn)
      .addSuccess(SessionTokens)
      .annotate(OpenApi.Description, "Completes a sign-in that asked for the second factor.")
  )
  .addError(Unauthorized)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "Second factor")
  .annotate(OpenApi.Description, "TOTP enrolment, backup codes and the second sign-in step.") {}
