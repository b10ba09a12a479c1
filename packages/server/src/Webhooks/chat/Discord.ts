import type { ChatText } from "./ChatText.js"

/**
 * A Discord webhook execution (https://discord.com/developers/docs/resources/webhook#execute-webhook) with one
 * embed. `allowed_mentions.parse: []` keeps text from the organisation (a band uid, a reason) from pinging
 * @everyone or anyone else.
 */
export const payload = (message: ChatText) => ({
  username: "Tapline",
  allowed_mentions: { parse: [] },
  embeds: [{ title: message.title.slice(0, 256), description: message.lines.join("\n").slice(0, 4096) }]
})
