import { Data, Duration, Effect, Option, Redacted } from "effect"
import { v7 as uuidv7 } from "uuid"
import { type AlertChannel, AppConfig } from "../Config/AppConfig.js"
import { Email } from "../Email/Email.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import { outgoingTraceHeaders } from "../Telemetry/Tracing.js"
import type { ChatText } from "../Webhooks/chat/ChatText.js"
import * as Discord from "../Webhooks/chat/Discord.js"
import * as Slack from "../Webhooks/chat/Slack.js"
import * as Teams from "../Webhooks/chat/Teams.js"
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

/**
 * Alerts are not a tenant's messages: they go straight to the operator's channels (ALERT_CHANNELS), not
 * through the outbox or the job queue, which live in the PostgreSQL an alert may be about. The URLs are the
 * operator's own, so the outbound policy that guards tenants' URLs does not apply.
 */
export const make = Effect.gen(function* () {
  const { alerts, webhooks } = yield* AppConfig
  const email = yield* Email
  const timeoutMs = Duration.toMillis(webhooks.timeout)

  const postTo = (channel: AlertChannel, request: { headers: Record<string, string>; body: string }) =>
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

  const json = { "content-type": "application/json", "user-agent": "Tapline-Alerts/1" }

  const send = (channel: AlertChannel, n: Notification): Effect.Effect<void, AlertDeliveryError> => {
    const text = textOf(n)
    switch (channel.kind) {
      case "email":
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
      case "slack":
        return postTo(channel, { headers: json, body: JSON.stringify(Slack.payload(text)) })
      case "discord":
        return postTo(channel, { headers: json, body: JSON.stringify(Discord.payload(text)) })
      case "teams":
        return postTo(channel, { headers: json, body: JSON.stringify(Teams.payload(text)) })
      case "webhook": {
        const body = JSON.stringify({
          type: n.status === "firing" ? "alert.firing" : "alert.resolved",
          timestamp: n.at.toISOString(),
          data: {
            rule: n.rule,
            summary: n.summary,
            detail: n.detail,
            instance: n.instance,
            reminder: n.reminder
          }
        })
        const signature = Option.match(alerts.webhookSecret, {
          onNone: () => ({}),
          onSome: (secret) =>
            signedHeaders([Redacted.value(secret)], uuidv7(), Math.floor(Date.now() / 1000), body)
        })
        return postTo(channel, { headers: { ...json, ...signature }, body })
      }
    }
  }

  return { channels: alerts.channels, send }
})
