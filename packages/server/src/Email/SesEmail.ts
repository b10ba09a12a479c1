import type { SendEmailCommand } from "@aws-sdk/client-sesv2"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { awsKeyPair } from "../Config/AwsKeyPair.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import { Email, EmailError } from "./Email.js"
import type { SharedSettings } from "./EmailConfig.js"
import { awsSdkFailure, withDeadline } from "./HttpEmail.js"

export interface SesOptions {
  readonly from: string
  readonly region: string
  /** Unset: AWS's own endpoint for the region; a test points it at its loopback peer. */
  readonly endpoint: Option.Option<string>
  /** None: the AWS SDK's default chain (environment, profile, instance role). */
  readonly credentials: Option.Option<{
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted
  }>
  readonly timeout: Duration.DurationInput
}

/**
 * Refusals of the account rather than of the message (a quota, paused sending, an unverified domain):
 * another provider can still carry the message.
 */
const ACCOUNT_REFUSALS = new Set([
  "LimitExceededException",
  "SendingPausedException",
  "AccountSuspendedException",
  "MailFromDomainNotVerifiedException"
])

const toEmailError = (cause: unknown) =>
  new EmailError({ provider: "ses", ...awsSdkFailure("SES", cause, ACCOUNT_REFUSALS), cause })

/** AWS SES v2 `SendEmail` (POST /v2/email/outbound-emails) through the official SDK, SigV4-signed. */
export const make = (options: SesOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that sends no mail through SES never loads the AWS SDK.
    const { SESv2Client, SendEmailCommand } = yield* Effect.promise(() => import("@aws-sdk/client-sesv2"))
    const client = new SESv2Client({
      region: options.region,
      // Failover and the job queue retry; one attempt here keeps a slow provider from holding the message.
      maxAttempts: 1,
      ...Option.match(options.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
      ...Option.match(options.credentials, {
        onNone: () => ({}),
        onSome: ({ accessKeyId, secretAccessKey }) => ({
          credentials: { accessKeyId, secretAccessKey: Redacted.value(secretAccessKey) }
        })
      })
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
    return Email.of({
      provider: "ses",
      send: (message) =>
        Effect.flatMap(outgoingTraceHeaders, (trace) =>
          Effect.tryPromise({
            try: (signal) =>
              withDeadline(signal, Duration.toMillis(options.timeout), (deadline) =>
                client.send(
                  withHeaders(
                    trace,
                    new SendEmailCommand({
                      FromEmailAddress: options.from,
                      Destination: { ToAddresses: [message.to] },
                      Content: {
                        Simple: {
                          Subject: { Data: message.subject, Charset: "UTF-8" },
                          Body: {
                            Text: { Data: message.text, Charset: "UTF-8" },
                            ...(message.html === undefined
                              ? {}
                              : { Html: { Data: message.html, Charset: "UTF-8" } })
                          },
                          // SES v2 puts a Simple message's extra headers in its `Headers` list.
                          ...(message.headers === undefined
                            ? {}
                            : {
                                Headers: Object.entries(message.headers).map(([Name, Value]) => ({
                                  Name,
                                  Value
                                }))
                              })
                        }
                      }
                    })
                  ),
                  { abortSignal: deadline }
                )
              ),
            catch: toEmailError
          })
        ).pipe(
          Effect.asVoid,
          Effect.withSpan("Email.send", { kind: "client", attributes: { "email.provider": "ses" } })
        )
    })
  })

/** Extra headers on one command's request, added before SigV4 signs it. */
const withHeaders = <C extends SendEmailCommand>(headers: Record<string, string>, command: C): C => {
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> }
      if (request.headers !== undefined) Object.assign(request.headers, headers)
      return next(args)
    },
    { step: "build", name: "taplineTraceContext" }
  )
  return command
}

export const layer = (options: SesOptions) => Layer.scoped(Email, make(options))

export const config = Config.all({
  region: Config.string("SES_REGION").pipe(Config.withDefault("us-east-1")),
  endpoint: Config.option(Config.url("SES_ENDPOINT").pipe(Config.map((url) => url.href)))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const { region, endpoint } = yield* config
    return yield* make({ region, endpoint, credentials: yield* awsKeyPair("SES"), ...shared })
  })

export const layerConfig = (shared: SharedSettings) => Layer.scoped(Email, fromConfig(shared))
