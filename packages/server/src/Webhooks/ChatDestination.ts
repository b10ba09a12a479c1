import type { WebhookKind } from "@tapline/domain"
import type { Destination, MessageContent } from "../Outbox/Destination.js"
import { chatTextOf } from "./chat/ChatText.js"
import * as Discord from "./chat/Discord.js"
import * as Slack from "./chat/Slack.js"
import * as Teams from "./chat/Teams.js"
import type { HttpSend } from "./Delivery.js"
import { jsonHeaders } from "./WebhookDestination.js"

type ChatKind = Exclude<WebhookKind, "webhook">

const payloads = { slack: Slack.payload, discord: Discord.payload, teams: Teams.payload } as const

/** A message as a chat channel's incoming webhook receives it: the event in words, unsigned. */
export const request = (kind: ChatKind, message: MessageContent) => ({
  headers: jsonHeaders,
  body: JSON.stringify(payloads[kind](chatTextOf(message.eventType, message.data)))
})

/** Chat: the message in the provider's format POSTed to the channel's webhook URL (which is its secret). */
export const make = (send: HttpSend): Destination => ({
  kinds: ["slack", "discord", "teams"],
  // The dispatcher hands a destination only receivers of its kinds.
  send: (message, receiver) => send(receiver.url, request(receiver.kind as ChatKind, message))
})
