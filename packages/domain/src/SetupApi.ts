import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { Conflict, InvalidRequest, TooManyRequests } from "./Errors.js"
import { Email, Slug } from "./Fields.js"
import { CredentialJson } from "./PasskeysApi.js"
import { SessionTokens } from "./SessionsApi.js"

/**
 * First run is over (a user exists), or this setup link expired or was used: the link is gone for good,
 * whichever of those it is (the body says which in words). 410, never a 5xx.
 */
export class SetupClosed extends Schema.TaggedError<SetupClosed>()(
  "SetupClosed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 410 })
) {}

/** `tsu_` then 43 base64url characters: a setup link's token. */
const SetupToken = Schema.String.pipe(Schema.pattern(/^tsu_[A-Za-z0-9_-]{43}$/))

const Person = {
  token: SetupToken,
  email: Email,
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
}

/** Which organisation the first person owns: the demo one (when seeded), or a new one they name. */
export const SetupOrganization = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("demo") }),
  Schema.Struct({
    kind: Schema.Literal("new"),
    slug: Slug,
    name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
  })
)

export const SetupStatus = Schema.Struct({
  /** True while no user exists: the sign-in page then points to the setup link. */
  open: Schema.Boolean,
  /** The demo organisation's name when it exists (offered as the one to own). */
  demoOrganization: Schema.NullOr(Schema.String)
})

export class SetupApi extends HttpApiGroup.make("setup")
  .add(
    HttpApiEndpoint.get("status", "/api/v1/setup")
      .addSuccess(SetupStatus)
      .annotate(OpenApi.Description, "Whether first-run setup is open (no user exists yet).")
  )
  .add(
    HttpApiEndpoint.post("registrationOptions", "/api/v1/setup/registration-options")
      .setPayload(Schema.Struct(Person))
      .addSuccess(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
      .annotate(
        OpenApi.Description,
        "First run, with the setup link's token: options for navigator.credentials.create. The token is " +
          "checked, not used; 410 once a user exists or when the link expired or was used."
      )
  )
  .add(
    HttpApiEndpoint.post("complete", "/api/v1/setup")
      .setPayload(
        Schema.Struct({
          ...Person,
          organization: SetupOrganization,
          credential: CredentialJson,
          transport: Schema.optionalWith(Schema.Literal("cookie", "bearer"), {
            default: () => "cookie" as const
          })
        })
      )
      .addSuccess(SessionTokens, { status: 201 })
      .annotate(
        OpenApi.Description,
        "First run: uses the setup link (once), creates the first user as platform ADMIN with the passkey " +
          "just made, makes them OWNER of the demo organisation or of a new one, and signs them in."
      )
  )
  .addError(SetupClosed)
  .addError(Conflict)
  .addError(InvalidRequest)
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "First run")
  .annotate(OpenApi.Description, "The one-time setup link: the first person registers a passkey.") {}
