import type { PublishCommand } from "@aws-sdk/client-sns"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { awsKeyPair } from "../Config/AwsKeyPair.js"
import { awsSdkFailure, withDeadline } from "../Email/HttpEmail.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import { Sms, SmsError } from "./Sms.js"
import { required, type SharedSettings } from "./SmsConfig.js"
import { prepare } from "./SmsText.js"

export interface SnsOptions {
  readonly region: string
  /** Unset: AWS's own endpoint for the region; a test points it at its loopback peer. */
  readonly endpoint: Option.Option<string>
  /** None: the AWS SDK's default chain (environment, profile, instance role). */
  readonly credentials: Option.Option<{
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted
  }>
  /** `AWS.SNS.SMS.SenderID`: an alphanumeric sender where the country supports one. */
  readonly senderId: Option.Option<string>
  /** `AWS.MM.SMS.OriginationNumber`: the account's own number (or short code) to send from. */
  readonly originationNumber: Option.Option<string>
  readonly timeout: Duration.DurationInput
}

/*
 * Publish's documented errors (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). A 400 is the
 * message's fault (`InvalidParameter`, `InvalidParameterValue`: not a valid number; `OptedOut`) and permanent,
 * except these, which name the account or the moment: throttling (AWS's query protocol sends it as a 400),
 * a request that expired on a skewed clock, KMS trouble. A 403 (AuthorizationError), 429 and 5xx are
 * transient as for every provider.
 */
const TRANSIENT_400 = new Set([
  "Throttling",
  "ThrottlingException",
  "Throttled",
  "RequestExpired",
  "KMSThrottling",
  "KMSDisabled",
  "KMSInvalidState",
  "KMSNotFound",
  "KMSAccessDenied",
  "KMSOptInRequired"
])

const toSmsError = (cause: unknown) =>
  new SmsError({ provider: "sns", ...awsSdkFailure("SNS", cause, TRANSIENT_400), cause })

/** A String message attribute, as Publish takes it. */
const attribute = (value: string) => ({ DataType: "String", StringValue: value })

/**
 * AWS SNS `Publish` with a `PhoneNumber` (an SMS straight to a number, no topic) through the official SDK,
 * SigV4-signed, marked Transactional (AWS routes it for reliability, not cost: a journey message is expected
 * now). The receipt is the `MessageId`, which SNS's delivery status logs name.
 */
export const make = (options: SnsOptions) =>
  Effect.gen(function* () {
    // Loaded here, not at start: a server that sends no SMS through SNS never loads the AWS SDK.
    const { SNSClient, PublishCommand } = yield* Effect.promise(() => import("@aws-sdk/client-sns"))
    const client = new SNSClient({
      region: options.region,
      // Failover and the journey sender retry; one attempt here keeps a slow provider from holding the message.
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
    return Sms.of({
      provider: "sns",
      send: (message) =>
        Effect.gen(function* () {
          const { to, text } = yield* prepare("sns", message)
          const trace = yield* outgoingTraceHeaders
          const output = yield* Effect.tryPromise({
            try: (signal) =>
              withDeadline(signal, Duration.toMillis(options.timeout), (deadline) =>
                client.send(
                  withHeaders(
                    trace,
                    new PublishCommand({
                      PhoneNumber: to,
                      Message: text,
                      MessageAttributes: {
                        "AWS.SNS.SMS.SMSType": attribute("Transactional"),
                        ...Option.match(options.senderId, {
                          onNone: () => ({}),
                          onSome: (id) => ({ "AWS.SNS.SMS.SenderID": attribute(id) })
                        }),
                        ...Option.match(options.originationNumber, {
                          onNone: () => ({}),
                          onSome: (number) => ({ "AWS.MM.SMS.OriginationNumber": attribute(number) })
                        })
                      }
                    })
                  ),
                  { abortSignal: deadline }
                )
              ),
            catch: toSmsError
          })
          return { provider: "sns", providerMessageId: output.MessageId ?? "" }
        }).pipe(Effect.withSpan("Sms.send", { kind: "client", attributes: { "sms.provider": "sns" } }))
    })
  })

/** Extra headers on one command's request, added before SigV4 signs it. */
const withHeaders = <C extends PublishCommand>(headers: Record<string, string>, command: C): C => {
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

export const layer = (options: SnsOptions) => Layer.scoped(Sms, make(options))

export const config = Config.all({
  region: Config.option(Config.string("SNS_REGION")),
  endpoint: Config.option(Config.url("SNS_ENDPOINT").pipe(Config.map((url) => url.href))),
  senderId: Config.option(Config.string("SNS_SENDER_ID")),
  originationNumber: Config.option(Config.string("SNS_ORIGINATION_NUMBER"))
})

export const fromConfig = (shared: SharedSettings) =>
  Effect.gen(function* () {
    const own = yield* config
    return yield* make({
      region: yield* required("sns", own.region, "SNS_REGION"),
      endpoint: own.endpoint,
      credentials: yield* awsKeyPair("SNS"),
      senderId: own.senderId,
      originationNumber: own.originationNumber,
      timeout: shared.timeout
    })
  })

export const layerConfig = (shared: SharedSettings) => Layer.scoped(Sms, fromConfig(shared))
