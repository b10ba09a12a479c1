import { Args, Command, Options } from "@effect/cli"
import { ConsentChannel, EventId, RegistrantId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { AdminClient, layer as AdminClientLive } from "./AdminClient.js"
import { organizationId, orgOption, print } from "./AdminCommands.js"

/*
 * Registrants (issue 33): personal data, through the admin API's typed client with its roles (EDITOR lists and
 * exports, OWNER erases) and its audit. Each prints the API's answer as JSON.
 */

const registrantArg = Args.text({ name: "REGISTRANT_ID" }).pipe(
  Args.withSchema(RegistrantId),
  Args.withDescription("registrant id (from registrants:list)")
)

const list = Command.make(
  "registrants:list",
  {
    org: orgOption,
    event: Options.text("event").pipe(Options.withSchema(EventId), Options.optional),
    search: Options.text("search").pipe(
      Options.withDescription("part of the name or email"),
      Options.optional
    ),
    consent: Options.choice("consent", ConsentChannel.literals).pipe(
      Options.withDescription("only those whose latest consent on this channel is granted"),
      Options.optional
    )
  },
  ({ consent, event, org, search }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const path = { organizationId: yield* organizationId(org) }
      const items: Array<unknown> = []
      let cursor: string | undefined
      do {
        const page = yield* client.registrants.list({
          path,
          urlParams: {
            limit: 500,
            cursor,
            eventId: Option.getOrUndefined(event),
            q: Option.getOrUndefined(search),
            consent: Option.getOrUndefined(consent)
          }
        })
        items.push(...page.items)
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      yield* print(items)
    })
).pipe(Command.withDescription("An organisation's registrants, every page (EDITOR)."))

const exportOne = Command.make("registrants:export", { org: orgOption, registrant: registrantArg }, (input) =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    const path = { organizationId: yield* organizationId(input.org), registrantId: input.registrant }
    yield* print(yield* client.registrants.export({ path }))
  })
).pipe(Command.withDescription("Everything Tapline holds of one registrant, as JSON (EDITOR)."))

const erase = Command.make("registrants:erase", { org: orgOption, registrant: registrantArg }, (input) =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    const path = { organizationId: yield* organizationId(input.org), registrantId: input.registrant }
    yield* client.registrants.erase({ path })
    yield* print({ erased: input.registrant })
  })
).pipe(Command.withDescription("Erase a registrant: the band and its taps stay, the person goes (OWNER)."))

export const registrantCommands = [
  Command.provide(list, AdminClientLive),
  Command.provide(exportOne, AdminClientLive),
  Command.provide(erase, AdminClientLive)
] as const
