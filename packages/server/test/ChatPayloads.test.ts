import { describe, expect, it } from "vitest"
import { chatTextOf } from "../src/Webhooks/chat/ChatText.js"
import * as Discord from "../src/Webhooks/chat/Discord.js"
import * as Slack from "../src/Webhooks/chat/Slack.js"
import * as Teams from "../src/Webhooks/chat/Teams.js"

/* What organisers' data can do inside a chat message: nothing but be shown. */

const flagged = chatTextOf("band.flagged", {
  eventId: "e1",
  bandUid: "<!channel> & <https://evil.example|click>",
  reason: "@everyone look"
})

describe("chat payloads", () => {
  it("Slack: mrkdwn control characters are escaped, so no mention or link can be injected", () => {
    const payload = Slack.payload(flagged)
    expect(payload.text).toBe("Band flagged")
    const section = payload.blocks[1] as { text: { type: string; text: string } }
    expect(section.text.type).toBe("mrkdwn")
    expect(section.text.text).toContain("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;")
    expect(section.text.text).not.toContain("<!channel>")
  })

  it("Discord: no mention is parsed, whatever the text says", () => {
    const payload = Discord.payload(flagged)
    expect(payload.allowed_mentions).toEqual({ parse: [] })
    expect(payload.embeds[0]!.description).toContain("@everyone look")
  })

  it("Teams: an Adaptive Card with the title and each line as text blocks", () => {
    const payload = Teams.payload(
      chatTextOf("event.status_changed", { name: "Night", from: "DRAFT", to: "ACTIVE" })
    )
    expect(payload.attachments[0]!.content.body.map((block) => block.text)).toEqual([
      "Event went live",
      "Night: DRAFT → ACTIVE"
    ])
  })

  it("every event type has words, and an unknown one still says its name", () => {
    for (const type of [
      "band.assigned",
      "export.ready",
      "import.completed",
      "webhook.disabled",
      "webhook.test"
    ]) {
      expect(chatTextOf(type, {}).title.length).toBeGreaterThan(0)
    }
    expect(chatTextOf("something.new", {})).toEqual({ title: "something.new", lines: [] })
  })
})
