import type { ChatText } from "./ChatText.js"

/**
 * A Microsoft Teams message with an Adaptive Card, as Teams workflows ("Post to a channel when a webhook
 * request is received") and incoming webhooks accept it
 * (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
 */
export const payload = (message: ChatText) => ({
  type: "message",
  attachments: [
    {
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content: {
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        type: "AdaptiveCard",
        version: "1.4",
        body: [
          { type: "TextBlock", text: message.title, weight: "Bolder", size: "Medium", wrap: true },
          ...message.lines.map((line) => ({ type: "TextBlock", text: line, wrap: true }))
        ]
      }
    }
  ]
})
