import type { ChatText } from "./ChatText.js"
import * as Discord from "./Discord.js"
import * as Slack from "./Slack.js"
import * as Teams from "./Teams.js"

/** A chat service: the JSON body its incoming webhook takes for one message. No SDK, no settings of its own. */
export interface ChatProvider {
  readonly payload: (message: ChatText) => unknown
}

/**
 * The registry: each chat kind an endpoint or an alert channel may have, and the file that writes its message.
 * A new chat service is one file here and one row below.
 */
export const providers = {
  slack: Slack,
  discord: Discord,
  teams: Teams
} satisfies Record<string, ChatProvider>

export type ChatKind = keyof typeof providers

export const CHAT_KINDS = Object.keys(providers) as ReadonlyArray<ChatKind>
