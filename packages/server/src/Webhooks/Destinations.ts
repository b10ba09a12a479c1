import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { Destinations } from "../Outbox/Destination.js"
import * as ChatDestination from "./ChatDestination.js"
import { httpSend } from "./Delivery.js"
import * as WebhookDestination from "./WebhookDestination.js"

/**
 * Today's destinations, both HTTP: webhooks and chat, sending through the outbound policy (every address
 * they connect to is checked) within WEBHOOK_TIMEOUT.
 */
export const make = Effect.map(AppConfig, (config) => {
  const client = OutboundClient.make(OutboundPolicy.make(config.outbound.allow))
  const send = httpSend(client, Duration.toMillis(config.webhooks.timeout))
  return { webhook: WebhookDestination.make(send), chat: ChatDestination.make(send) }
})

export const layer = Layer.effect(
  Destinations,
  Effect.map(make, ({ webhook, chat }) => [webhook, chat])
)
