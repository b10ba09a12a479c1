import type { Destination, MessageContent } from "../Outbox/Destination.js"
import { chatTextOf } from "./chat/ChatText.js"
import { CHAT_KINDS, type ChatKind, providers } from "./chat/providers.js"
import type { HttpSend } from "./Delivery.js"
import { jsonHeaders } from "./WebhookDestination.js"

/** A message as a chat channel's incoming webhook receives it: the event in words, unsigned. */
export const request = (kind: ChatKind, message: MessageContent) => ({
  headers: jsonHeaders,
  body: JSON.stringify(providers[kind].payload(chatTextOf(message.eventType, message.data)))
})

/** Chat: the message in the provider's format POSTed to the channel's webhook URL (which is its secret). */
export const make = (send: HttpSend): Destination => ({
  kinds: CHAT_KINDS,
  // The dispatcher hands a destination only receivers of its kinds.
  send: (message, receiver) => send(receiver.url, request(receiver.kind as ChatKind, message))
})
