import { Config, ConfigError, Data, Duration, Effect, Either, Option, Redacted } from "effect"
import { v7 as uuidv7 } from "uuid"
import { AppConfig } from "../Config/AppConfig.js"
import { Email } from "../Email/Email.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import type { ChatText } from "../Webhooks/chat/ChatText.js"
import * as Chat from "../Webhooks/chat/providers.js"
import { post } from "../Webhooks/Delivery.js"
import { signedHeaders } from "../Webhooks/Signature.js"

/** One change of an alert's state, as every channel tells it. */
export interface Notification {
  readonly rule: string
  readonly status: "firing" | "resolved"
  /** True when a firing alert is said again (ALERT_REPEAT). */
  readonly reminder: boolean
  readonly summary: string
  readonly detail: string
  readonly instance: string
  /** When the condition began (firing) or ended (resolved). */
  readonly at: Date
}

export class AlertDeliveryError extends Data.TaggedError("AlertDeliveryError")<{
  readonly channel: string
  readonly message: string
}> {}

const titleOf = (n: Notification) =>
  n.status === "resolved"
    ? `RESOLVED: ${n.summary}`
    : `${n.reminder ? "STILL FIRING" : "FIRING"}: ${n.summary}`

export const textOf = (n: Notification): ChatText => ({
  title: titleOf(n),
  lines: [
    n.detail,
    `Rule ${n.rule} on ${n.instance}, ${n.status === "resolved" ? "resolved" : "since"} ${n.at.toISOString()}`,
    "What to do: docs/runbook.md, the section of this rule"
  ]
})

/** What a channel is shown as in logs: its kind, never its URL (a chat webhook's URL is its secret). */
export const channelName = (channel: AlertChannel) =>
  channel.kind === "email" ? `email:${Redacted.value(channel.target)}` : channel.kind

/** What a channel kind is given to say one notification: the services its row in `kinds` uses. */
interface Senders {
  readonly email: (channel: AlertChannel, n: Notification) => Effect.Effect<void, AlertDeliveryError>
  readonly post: (
    channel: AlertChannel,
    request: { headers: Record<string, string>; body: string }
  ) => Effect.Effect<void, AlertDeliveryError>
  readonly webhookSecret: Option.Option<Redacted.Redacted>
}

type Send = (
  senders: Senders,
  channel: AlertChannel,
  n: Notification
) => Effect.Effect<void, AlertDeliveryError>

const json = { "content-type": "application/json", "user-agent": "Tapline-Alerts/1" }

/** A chat service's incoming webhook, with the message its file writes. */
const chat =
  (provider: Chat.ChatProvider): Send =>
  (senders, channel, n) =>
    senders.post(channel, { headers: json, body: JSON.stringify(provider.payload(textOf(n))) })

/** A Standard Webhooks POST, signed with ALERT_WEBHOOK_SECRET when it is set. */
const webhook: Send = (senders, channel, n) => {
  const body = JSON.stringify({
    type: n.status === "firing" ? "alert.firing" : "alert.resolved",
    timestamp: n.at.toISOString(),
    data: { rule: n.rule, summary: n.summary, detail: n.detail, instance: n.instance, reminder: n.reminder }
  })
  const signature = Option.match(senders.webhookSecret, {
    onNone: () => ({}),
    onSome: (secret) => signedHeaders([Redacted.value(secret)], uuidv7(), Math.floor(Date.now() / 1000), body)
  })
  return senders.post(channel, { headers: { ...json, ...signature }, body })
}

/** The registry: each kind ALERT_CHANNELS takes and how it says a notification. A new kind is one row. */
const kinds = {
  email: (senders, channel, n) => senders.email(channel, n),
  slack: chat(Chat.providers.slack),
  discord: chat(Chat.providers.discord),
  teams: chat(Chat.providers.teams),
  webhook
} satisfies Record<string, Send>

export type AlertChannelKind = keyof typeof kinds
const ALERT_CHANNEL_KINDS = Object.keys(kinds) as ReadonlyArray<AlertChannelKind>

export interface AlertChannel {
  readonly kind: AlertChannelKind
  /** An address for email, a URL otherwise (a chat webhook's URL is its secret). */
  readonly target: Redacted.Redacted<string>
}

/** `kind:target` entries separated by whitespace or commas: `email:ops@x.example slack:https://hooks…`. */
export const parseAlertChannels = (text: string): Either.Either<Array<AlertChannel>, string> => {
  const channels: Array<AlertChannel> = []
  for (const entry of text.split(/[\s,]+/).filter((part) => part.length > 0)) {
    const at = entry.indexOf(":")
    const kind = entry.slice(0, at) as AlertChannelKind
    const target = entry.slice(at + 1)
    if (at <= 0 || !ALERT_CHANNEL_KINDS.includes(kind)) {
      return Either.left(`expected kind:target entries, kind one of ${ALERT_CHANNEL_KINDS.join(", ")}`)
    }
    if (kind === "email" ? !target.includes("@") : !URL.canParse(target) || !/^https?:/.test(target)) {
      return Either.left(
        `the ${kind} channel needs ${kind === "email" ? "an email address" : "an http(s) URL"}`
      )
    }
    channels.push({ kind, target: Redacted.make(target) })
  }
  return Either.right(channels)
}

/** The channels' own settings, read where the alert rules run (ALERTS_ENABLED). */
export const config = Config.all({
  /** Where alerts go; none: alerts are logged only (and Prometheus's rules in deploy/ may page instead). */
  channels: Config.redacted().pipe(
    Config.mapOrFail((text) =>
      parseAlertChannels(Redacted.value(text)).pipe(
        Either.mapLeft((message) => ConfigError.InvalidData([], message))
      )
    ),
    Config.nested("ALERT_CHANNELS"),
    Config.withDefault([] as Array<AlertChannel>)
  ),
  /** Signs `webhook:` alert channels (Standard Webhooks, `whsec_…`); without it webhook alerts go unsigned. */
  webhookSecret: Config.option(Config.redacted("ALERT_WEBHOOK_SECRET"))
})

/**
 * Alerts are not a tenant's messages: they go straight to the operator's channels (ALERT_CHANNELS), not
 * through the outbox or the job queue, which live in the PostgreSQL an alert may be about. The URLs are the
 * operator's own, so the outbound policy that guards tenants' URLs does not apply.
 */
export const make = Effect.gen(function* () {
  const { webhooks } = yield* AppConfig
  const { channels, webhookSecret } = yield* config
  const email = yield* Email
  const timeoutMs = Duration.toMillis(webhooks.timeout)

  const postTo: Senders["post"] = (channel, request) =>
    Effect.flatMap(outgoingTraceHeaders, (trace) =>
      Effect.promise(() =>
        post(
          OutboundClient.direct,
          Redacted.value(channel.target),
          { ...request, headers: { ...request.headers, ...trace } },
          timeoutMs
        )
      )
    ).pipe(
      Effect.flatMap((outcome) =>
        outcome.error === null
          ? Effect.void
          : Effect.fail(new AlertDeliveryError({ channel: channelName(channel), message: outcome.error }))
      )
    )

  const sendEmail: Senders["email"] = (channel, n) => {
    const text = textOf(n)
    return email
      .send({
        id: `${n.rule}-${n.status}-${n.at.getTime()}`,
        to: Redacted.value(channel.target),
        subject: `[Tapline] ${text.title}`,
        text: text.lines.join("\n")
      })
      .pipe(
        Effect.mapError(
          (error) => new AlertDeliveryError({ channel: channelName(channel), message: error.message })
        )
      )
  }

  const senders: Senders = { email: sendEmail, post: postTo, webhookSecret }
  const send = (channel: AlertChannel, n: Notification): Effect.Effect<void, AlertDeliveryError> =>
    kinds[channel.kind](senders, channel, n)

  return { channels, send }
})
