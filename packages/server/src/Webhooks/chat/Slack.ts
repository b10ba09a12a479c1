import type { ChatText } from "./ChatText.js"

/** Slack's mrkdwn treats &, < and > as markup (links, mentions): escaped as Slack documents. */
const escapeMrkdwn = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * A Slack incoming webhook message (https://api.slack.com/messaging/webhooks): `text` is the notification
 * and fallback, `blocks` the message as shown.
 */
export const payload = (message: ChatText) => ({
  text: escapeMrkdwn(message.title),
  blocks: [
    { type: "header", text: { type: "plain_text", text: message.title.slice(0, 150) } },
    ...(message.lines.length === 0
      ? []
      : [{ type: "section", text: { type: "mrkdwn", text: message.lines.map(escapeMrkdwn).join("\n") } }])
  ]
})
