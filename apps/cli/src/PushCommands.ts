import { Command } from "@effect/cli"
import { generateVapidKeys } from "@tapline/server/Push/WebPush"
import { Console, Effect } from "effect"

/*
 * Push (issue 34): what an operator needs before Web Push works, a VAPID key pair. Made locally, printed as
 * the two environment lines to paste; nothing is stored or sent anywhere.
 */

const vapidKeys = Command.make("push:vapid-keys", {}, () =>
  Effect.gen(function* () {
    const { publicKey, privateKey } = generateVapidKeys()
    yield* Console.log(`PUSH_VAPID_PUBLIC_KEY=${publicKey}`)
    yield* Console.log(`PUSH_VAPID_PRIVATE_KEY=${privateKey}`)
  })
).pipe(
  Command.withDescription(
    "Print a fresh VAPID key pair for Web Push as PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY lines " +
      "(keep the private key secret; changing the pair orphans every browser subscription made with the old one)."
  )
)

export const pushCommands = [vapidKeys] as const
