import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { AdminClient, layer as AdminClientLive } from "./AdminClient.js"
import { organizationId, orgOption, print } from "./AdminCommands.js"

/*
 * Journeys (issue 34): which channels can send. `tapline journeys channels --org ORG` prints one line per
 * channel (configured or not, and its providers in failover order); `--json` prints the API's answer.
 */

const channels = Command.make(
  "channels",
  {
    org: orgOption,
    json: Options.boolean("json").pipe(Options.withDescription("print the API's answer as JSON"))
  },
  ({ json, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const state = yield* client.journeys.channels({ path: { organizationId: yield* organizationId(org) } })
      if (json) return yield* print(state)
      for (const channel of state.channels)
        yield* Console.log(
          `${channel.channel.padEnd(6)} ${
            channel.configured ? `configured: ${channel.providers.join(", ")}` : "not configured"
          }`
        )
    })
).pipe(
  Command.withDescription(
    "Each journey channel (email, sms, push): configured, with its providers in failover order, or not (VIEWER)."
  )
)

export const journeyCommands = [
  Command.make("journeys").pipe(
    Command.withDescription("Journeys: the channels' state."),
    Command.withSubcommands([Command.provide(channels, AdminClientLive)])
  )
] as const
