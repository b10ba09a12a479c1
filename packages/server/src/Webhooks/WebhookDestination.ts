import type { Destination, MessageContent } from "../Outbox/Destination.js"
import type { HttpSend } from "./Delivery.js"
import { signedHeaders } from "./Signature.js"

/** A message as a webhook endpoint receives it: a Standard Webhooks body, signed with every secret given. */
export const request = (message: MessageContent, secrets: ReadonlyArray<string>, now: Date) => {
  const body = JSON.stringify({
    type: message.eventType,
    timestamp: message.createdAt.toISOString(),
    data: message.data
  })
  const timestamp = Math.floor(now.getTime() / 1000)
  return { headers: { ...jsonHeaders, ...signedHeaders(secrets, message.id, timestamp, body) }, body }
}

export const jsonHeaders = { "content-type": "application/json", "user-agent": "Tapline-Webhooks/1" }

/** Webhooks: the signed body POSTed to the endpoint's URL, signed when it is sent (the timestamp is now). */
export const make = (send: HttpSend): Destination => ({
  kinds: ["webhook"],
  send: (message, receiver) => send(receiver.url, request(message, receiver.secrets, new Date()))
})
