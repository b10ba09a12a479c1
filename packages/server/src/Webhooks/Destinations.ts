import { Duration, Effect, Layer } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import { Destinations } from "../Outbox/Destination.js"
import * as BrokerDestination from "../Streams/BrokerDestination.js"
import { Metrics } from "../Telemetry/Metrics.js"
import * as ChatDestination from "./ChatDestination.js"
import { httpSend } from "./Delivery.js"
import * as WebhookDestination from "./WebhookDestination.js"

/**
 * Today's destinations: webhooks and chat over HTTP, and organisations' brokers (Kafka, RabbitMQ, NATS), all
 * connecting through the outbound policy (every address they connect to is checked) within WEBHOOK_TIMEOUT.
 */
export const make = Effect.map(AppConfig, (config) => {
  const client = OutboundClient.make(OutboundPolicy.make(config.outbound.allow))
  const send = httpSend(client, Duration.toMillis(config.webhooks.timeout))
  return { webhook: WebhookDestination.make(send), chat: ChatDestination.make(send) }
})

export const layer = Layer.scoped(
  Destinations,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { webhook, chat } = yield* make
    const broker = yield* BrokerDestination.make({
      policy: OutboundPolicy.make(config.outbound.allow),
      origin: publicOrigin(config),
      timeoutMs: Duration.toMillis(config.webhooks.timeout),
      metrics: yield* Metrics,
      ca: config.brokerCa
    })
    return [webhook, chat, broker]
  })
)
