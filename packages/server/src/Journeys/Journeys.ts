import {
  type CreateJourney,
  type EventId,
  InvalidRequest,
  type Journey,
  type JourneyChannel,
  type JourneyChannelState,
  type JourneyId,
  type JourneyMessage,
  type JourneyMessageId,
  type JourneyTrigger,
  NotFound,
  type OrganizationId,
  type PreviewJourney,
  SMS_MAX_LENGTH,
  type UpdateJourney
} from "@tapline/domain"
import { Effect } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { Quotas } from "../Quotas/Quotas.js"
import * as Channel from "./Channel.js"
import { JourneyMessageRepository } from "./JourneyMessageRepository.js"
import { type JourneyColumns, JourneyRepository, type JourneyRow } from "./JourneyRepository.js"
import { unsubscribeUrl } from "./JourneySender.js"
import * as Templates from "./Templates.js"

const triggerColumns = (trigger: JourneyTrigger) => ({
  trigger: trigger._tag,
  windowType: trigger._tag === "window_tap" ? trigger.windowType : null,
  afterMinutes: trigger._tag === "after_event" ? trigger.minutes : null
})

const triggerOf = (row: JourneyRow): JourneyTrigger => {
  switch (row.trigger) {
    case "window_tap":
      return { _tag: "window_tap", windowType: row.windowType as "PRE" | "LIVE" | "POST" }
    case "after_event":
      return { _tag: "after_event", minutes: Number(row.afterMinutes) }
    case "registration":
      return { _tag: "registration" }
    default:
      return { _tag: "first_tap" }
  }
}

/** The API's Journey: the row with its trigger put back together. */
const decode = ({ afterMinutes: _a, windowType: _w, ...row }: JourneyRow): Effect.Effect<Journey> =>
  Effect.succeed({ ...row, trigger: triggerOf({ ...row, afterMinutes: _a, windowType: _w }) })

const decodeMessage = (row: JourneyMessage): Effect.Effect<JourneyMessage> => Effect.succeed(row)

/** Refuses a template with an unknown variable or an unclosed `{{`, naming the field. */
const checkTemplates = (input: {
  readonly subject?: string | undefined
  readonly body?: string | undefined
}) => {
  const problems = [
    input.subject === undefined ? undefined : Templates.problem("subject", input.subject),
    input.body === undefined ? undefined : Templates.problem("body", input.body)
  ].filter((p) => p !== undefined)
  return problems.length === 0
    ? Effect.void
    : Effect.fail(new InvalidRequest({ message: problems.join("; ") }))
}

/**
 * An SMS journey's body, filled in with sample values and a full-length unsubscribe link, is at most
 * SMS_MAX_LENGTH characters; longer is refused when it is saved (the send refuses one a long value made longer).
 */
const checkSmsLength = (channel: string, body: string, link: string) => {
  if (channel !== "sms") return Effect.void
  const length = Templates.render("-", body, sample("Event", {}, link)).text.length
  return length <= SMS_MAX_LENGTH
    ? Effect.void
    : Effect.fail(
        new InvalidRequest({
          message: `body: an SMS is at most ${SMS_MAX_LENGTH} characters once filled in; this one is ${length}`
        })
      )
}

/** Sample values for a preview and a test send: the event's own name, a made-up person. */
const sample = (eventName: string, input: typeof PreviewJourney.Type, link: string): Templates.Values => ({
  name: input.name ?? "Ada Lovelace",
  event: eventName,
  windowUrl: input.windowUrl ?? "https://example.com/",
  unsubscribeUrl: link
})

/** Journeys of an organisation: definitions, preview, test send, delivery log, redrive. Authorisation is the caller's. */
export class Journeys extends Effect.Service<Journeys>()("@tapline/server/Journeys", {
  effect: Effect.gen(function* () {
    const repository = yield* JourneyRepository
    const messages = yield* JourneyMessageRepository
    const changes = yield* Changes
    const quotas = yield* Quotas
    const origin = publicOrigin(yield* AppConfig)
    const channel = yield* Channel.email
    const channelProviders = {
      email: channel.provider,
      sms: (yield* Channel.sms).provider,
      push: (yield* Channel.push).provider
    } as const
    // A real unsubscribe token is 32 characters: the length an SMS's link takes.
    const longestLink = unsubscribeUrl(origin, "x".repeat(32))

    /** Each channel's providers (failover order), and so whether journeys on it can be sent. */
    const channelStates: ReadonlyArray<JourneyChannelState> = (["email", "sms", "push"] as const).map(
      (name: JourneyChannel) => {
        const providers = channelProviders[name].split(",").filter((p) => p !== "")
        return { channel: name, configured: providers.length > 0, providers }
      }
    )
    const channels = () => Effect.succeed({ channels: channelStates })

    const found = (organizationId: OrganizationId, id: JourneyId) =>
      changes.found("journey", id, repository.find(organizationId, id))

    const list = Effect.fn("Journeys.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<{ readonly eventId?: EventId | undefined }>
    ) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        decode,
        (j) => j.id
      )
    })

    const get = Effect.fn("Journeys.get")(function* (organizationId: OrganizationId, id: JourneyId) {
      return yield* decode(yield* found(organizationId, id))
    })

    const create = Effect.fn("Journeys.create")(function* (
      organizationId: OrganizationId,
      input: typeof CreateJourney.Type
    ) {
      yield* checkTemplates(input)
      yield* checkSmsLength(input.channel, input.body, longestLink)
      if (!(yield* Effect.orDie(repository.eventExists(organizationId, input.eventId)))) {
        return yield* Effect.fail(
          new InvalidRequest({ message: "eventId: no such event in this organisation" })
        )
      }
      const row = yield* changes.createRow({
        organizationId,
        resourceType: "journey",
        action: "journey.create",
        insert: repository.insert({
          organizationId,
          eventId: input.eventId,
          name: input.name,
          ...triggerColumns(input.trigger),
          delayMinutes: input.delayMinutes,
          channel: input.channel,
          subject: input.subject,
          body: input.body,
          enabled: input.enabled
        })
      })
      return yield* decode(row)
    })

    const update = Effect.fn("Journeys.update")(function* (
      organizationId: OrganizationId,
      id: JourneyId,
      input: typeof UpdateJourney.Type
    ) {
      yield* checkTemplates(input)
      const { trigger, ...rest } = input
      const columns: JourneyColumns = {
        ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)),
        ...(trigger === undefined ? {} : triggerColumns(trigger))
      }
      const row = yield* changes.changeRow({
        organizationId,
        resourceType: "journey",
        resourceId: id,
        action: "journey.update",
        lock: repository.find(organizationId, id, { lock: true }),
        apply: (before) =>
          Effect.zipRight(
            checkSmsLength(columns.channel ?? before.channel, columns.body ?? before.body, longestLink),
            Object.keys(columns).length === 0 ? Effect.succeed([]) : repository.update(id, columns)
          )
      })
      return yield* decode(row)
    })

    const remove = Effect.fn("Journeys.remove")(function* (organizationId: OrganizationId, id: JourneyId) {
      yield* changes.changeRow({
        organizationId,
        resourceType: "journey",
        resourceId: id,
        action: "journey.delete",
        lock: repository.find(organizationId, id, { lock: true }),
        apply: (before) => Effect.as(repository.remove(id), [before]),
        audited: (before) => ({ oldValues: before, newValues: null })
      })
    })

    const eventName = (organizationId: OrganizationId, journey: JourneyRow) =>
      Effect.orDie(repository.eventName(organizationId, journey.eventId))

    /** The message as it would go, filled with sample values (or the given ones). */
    const preview = Effect.fn("Journeys.preview")(function* (
      organizationId: OrganizationId,
      id: JourneyId,
      input: typeof PreviewJourney.Type
    ) {
      const journey = yield* found(organizationId, id)
      const values = sample(
        yield* eventName(organizationId, journey),
        input,
        unsubscribeUrl(origin, "preview")
      )
      return Templates.render(journey.subject, journey.body, values)
    })

    /**
     * Sends the message with sample values to `to` at once (a test; counted against the organisation's quota of
     * test deliveries). Its unsubscribe link leads nowhere: no registrant is behind it.
     */
    const test = Effect.fn("Journeys.test")(function* (
      organizationId: OrganizationId,
      id: JourneyId,
      to: string
    ) {
      const journey = yield* found(organizationId, id)
      if (journey.channel !== "email")
        return yield* Effect.fail(
          new InvalidRequest({
            message: `a test send goes by email; this journey's channel is ${journey.channel} (use preview)`
          })
        )
      yield* quotas.take("testPings", organizationId)
      const link = unsubscribeUrl(origin, "test")
      const content = Templates.render(
        `[test] ${journey.subject}`,
        journey.body,
        sample(yield* eventName(organizationId, journey), {}, link)
      )
      yield* channel
        .send({ id: crypto.randomUUID(), to, content, unsubscribeUrl: link, url: "" })
        .pipe(
          Effect.catchAll((error) =>
            Effect.fail(
              new InvalidRequest({ message: `the test message was not sent: ${error.failure} failure` })
            )
          )
        )
    })

    const log = Effect.fn("Journeys.messages")(function* (
      organizationId: OrganizationId,
      id: JourneyId,
      request: PageRequest<{ readonly status?: string | undefined }>
    ) {
      yield* found(organizationId, id)
      return yield* listPage(
        request,
        (query) => messages.list(organizationId, id, query),
        decodeMessage,
        (m) => m.id
      )
    })

    /** A dead message back in the queue, its attempts reset; any other message is answered as it is. */
    const redrive = Effect.fn("Journeys.redrive")(function* (
      organizationId: OrganizationId,
      id: JourneyId,
      messageId: JourneyMessageId
    ) {
      const row = yield* Effect.orDie(messages.redrive(organizationId, id, messageId))
      if (row === undefined)
        return yield* Effect.fail(new NotFound({ resource: "journey message", id: messageId }))
      return yield* decodeMessage(row)
    })

    return { channels, list, get, create, update, remove, preview, test, messages: log, redrive } as const
  }),
  dependencies: [JourneyRepository.Default, JourneyMessageRepository.Default]
}) {}
