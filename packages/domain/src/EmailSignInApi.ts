import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { hasControlCharacters } from "./ControlCharacters.js"
import { DependencyUnavailable, InvalidRequest, TooManyRequests, Unauthorized } from "./Errors.js"
import { Email } from "./Fields.js"
import { PasskeySignInResult } from "./PasskeysApi.js"

/** `Email` lets NUL and other controls through its pattern; PostgreSQL and mail headers take none of them. */
const SignInEmail = Email.pipe(
  Schema.filter((value) => !hasControlCharacters(value), {
    message: () => "an email address without control characters"
  })
)

const Transport = Schema.optionalWith(Schema.Literal("cookie", "bearer"), {
  default: () => "cookie" as const
})

/** Always the same answer, whether the email has an account or not. */
export const EmailSignInRequested = Schema.Struct({ message: Schema.String })

export class EmailSignInApi extends HttpApiGroup.make("emailSignIn")
  .add(
    HttpApiEndpoint.post("request", "/api/v1/auth/email")
      .setPayload(Schema.Struct({ email: SignInEmail }))
      .addSuccess(EmailSignInRequested, { status: 202 })
      .annotate(
        OpenApi.Description,
        "Mails a sign-in link (valid 15 minutes) and a one-time code (10 minutes, 5 attempts). A new request " +
          "replaces the open one. The answer is the same whether the email has an account or not."
      )
  )
  .add(
    HttpApiEndpoint.post("link", "/api/v1/auth/email/link")
      .setPayload(
        Schema.Struct({
          /** From the link's fragment (`/sign-in#email_token=tle_…`). */
          token: Schema.String.pipe(Schema.maxLength(200)),
          transport: Transport
        })
      )
      .addSuccess(PasskeySignInResult)
      .annotate(OpenApi.Description, "Signs in with the mailed link's token; asks for TOTP when it is on.")
  )
  .add(
    HttpApiEndpoint.post("code", "/api/v1/auth/email/code")
      .setPayload(
        Schema.Struct({
          email: SignInEmail,
          code: Schema.String.pipe(Schema.pattern(/^\d{6}$/), Schema.annotations({ examples: ["123456"] })),
          transport: Transport
        })
      )
      .addSuccess(PasskeySignInResult)
      .annotate(OpenApi.Description, "Signs in with the mailed six-digit code; asks for TOTP when it is on.")
  )
  .addError(Unauthorized)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .addError(DependencyUnavailable)
  .annotate(OpenApi.Title, "Email sign-in")
  .annotate(OpenApi.Description, "A link or a code by email, for people without a passkey or a provider.") {}
