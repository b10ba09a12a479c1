import * as Fs from "node:fs"
import * as Path from "node:path"
import { Args, Command, Options } from "@effect/cli"
import {
  CreateEvent,
  CreateOrganization,
  CreateWindow,
  EventId,
  OrganizationId,
  WebhookEndpointId,
  WebhookMessageId
} from "@tapline/domain"
import { Console, Effect, Option, Schema } from "effect"

const EVENT_STATUSES = ["ACTIVE", "COMPLETED", "CANCELLED"] as const

import { AdminClient, layer as AdminClientLive } from "./AdminClient.js"

/*
 * Commands that go through the admin API with the typed client, so they obey the same authorisation,
 * validation and audit as any other client.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** An organisation's id, or its slug looked up among the organisations the key can see. */
export const organizationId = (idOrSlug: string) =>
  Effect.gen(function* () {
    if (UUID.test(idOrSlug)) return yield* Schema.decodeUnknown(OrganizationId)(idOrSlug.toLowerCase())
    const client = yield* AdminClient
    let cursor: string | undefined
    do {
      const page = yield* client.organizations.list({
        urlParams: { limit: 500, ...(cursor === undefined ? {} : { cursor }) }
      })
      const found = page.items.find((org) => org.slug === idOrSlug)
      if (found !== undefined) return found.id
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    return yield* Effect.fail(new Error(`no organisation with the slug "${idOrSlug}" for this API key`))
  })

export const orgOption = Options.text("org").pipe(Options.withDescription("organisation id or slug"))
const eventOption = Options.text("event").pipe(
  Options.withSchema(EventId),
  Options.withDescription("event id")
)
/** As the API sends it: an absent optional value is null (the decoded form holds an Option). */
const apiJson = (_key: string, value: unknown) => {
  if (typeof value === "object" && value !== null && (value as { _id?: unknown })._id === "Option") {
    const option = value as { _tag: string; value?: unknown }
    return option._tag === "Some" ? option.value : null
  }
  return value
}
export const print = (value: unknown) => Console.log(JSON.stringify(value, apiJson, 2))
const readFile = (file: string) => Effect.try(() => Fs.readFileSync(file, "utf8"))

const organizationCreate = Command.make(
  "org:create",
  {
    slug: Options.text("slug"),
    name: Options.text("name"),
    website: Options.text("website").pipe(Options.optional)
  },
  ({ name, slug, website }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const payload = yield* Schema.decodeUnknown(CreateOrganization)({
        slug,
        name,
        ...Option.match(website, { onNone: () => ({}), onSome: (websiteUrl) => ({ websiteUrl }) })
      })
      const created = yield* client.organizations.create({ payload })
      yield* print(created)
    })
).pipe(Command.withDescription("Create an organisation (platform ADMIN or a personal key)."))

const eventCreate = Command.make(
  "event:create",
  {
    org: orgOption,
    name: Options.text("name"),
    timezone: Options.text("timezone").pipe(Options.optional),
    fallbackUrl: Options.text("fallback-url").pipe(Options.optional)
  },
  ({ fallbackUrl, name, org, timezone }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const payload = {
        name,
        ...Option.match(timezone, { onNone: () => ({}), onSome: (tz) => ({ timezone: tz }) }),
        ...Option.match(fallbackUrl, { onNone: () => ({}), onSome: (url) => ({ fallbackUrl: url }) })
      }
      const created = yield* client.events.create({
        path: { organizationId: yield* organizationId(org) },
        payload: yield* Schema.decodeUnknown(CreateEvent)(payload)
      })
      yield* print(created)
    })
).pipe(Command.withDescription("Create a DRAFT event."))

const eventStatus = Command.make(
  "event:status",
  {
    org: orgOption,
    event: eventOption,
    status: Args.choice(
      EVENT_STATUSES.map((status) => [status, status] as const),
      { name: "STATUS" }
    )
  },
  ({ event, org, status }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      yield* print(
        yield* client.events.changeStatus({
          path: { organizationId: yield* organizationId(org), eventId: event },
          payload: { status }
        })
      )
    })
).pipe(
  Command.withDescription(
    "Move an event on: DRAFT → ACTIVE (taps redirect by its windows) or CANCELLED; ACTIVE → COMPLETED or CANCELLED."
  )
)

const windowsSet = Command.make(
  "windows:set",
  { org: orgOption, event: eventOption, file: Args.file({ name: "windows.json", exists: "yes" }) },
  ({ event, file, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const wanted = yield* Schema.decodeUnknown(Schema.parseJson(Schema.Array(CreateWindow)))(
        yield* readFile(file)
      )
      const path = { organizationId: yield* organizationId(org), eventId: event }
      // One request, one transaction: the event gets the whole new set, or keeps the windows it had.
      const windows = yield* client.windows.replace({ path, payload: { windows: wanted } })
      yield* print(windows)
      return windows
    })
).pipe(Command.withDescription("Replace an event's windows with those in a JSON file (an array of windows)."))

const bandsImport = Command.make(
  "bands:import",
  { org: orgOption, event: eventOption, file: Args.file({ name: "FILE", exists: "yes" }) },
  ({ event, file, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const text = yield* readFile(file)
      const path = { organizationId: yield* organizationId(org), eventId: event }
      // A .json file holds `{ "bands": [...] }` or a bare array; anything else is sent as CSV.
      const result =
        Path.extname(file).toLowerCase() === ".json"
          ? yield* Effect.flatMap(
              Effect.try(() => JSON.parse(text) as unknown),
              (parsed) =>
                client.bands.import({
                  path,
                  payload: {
                    bands: Array.isArray(parsed) ? parsed : (parsed as { bands: Array<unknown> }).bands
                  }
                })
            )
          : yield* client.bands.import({ path, payload: text })
      yield* print(result)
      if (result.invalidCount > 0) yield* Effect.sync(() => (process.exitCode = 2))
    })
).pipe(
  Command.withDescription("Import bands from a CSV or JSON file; exit code 2 when some rows were invalid.")
)

const auditExport = Command.make(
  "audit:export",
  { org: orgOption, out: Options.file("out").pipe(Options.optional) },
  ({ org, out }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const csv = yield* client.audit.export({
        path: { organizationId: yield* organizationId(org) },
        urlParams: {}
      })
      if (Option.isSome(out)) yield* Effect.try(() => Fs.writeFileSync(out.value, csv))
      else yield* Console.log(csv)
    })
).pipe(Command.withDescription("Write an organisation's audit log as CSV."))

const analyticsSummary = Command.make(
  "analytics:summary",
  { org: orgOption, event: eventOption },
  ({ event, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      yield* print(
        yield* client.analytics.eventSummary({
          path: { organizationId: yield* organizationId(org), eventId: event },
          urlParams: {}
        })
      )
    })
).pipe(Command.withDescription("An event's analytics summary (from the rollups) as JSON."))

const tapsExport = Command.make(
  "taps:export",
  { org: orgOption, event: eventOption, out: Options.file("out").pipe(Options.optional) },
  ({ event, org, out }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const csv = yield* client.analytics.eventTaps({
        path: { organizationId: yield* organizationId(org), eventId: event },
        urlParams: {}
      })
      if (Option.isSome(out)) yield* Effect.try(() => Fs.writeFileSync(out.value, csv))
      else yield* Console.log(csv)
    })
).pipe(Command.withDescription("An event's raw taps as CSV."))

const webhooksList = Command.make("webhooks:list", { org: orgOption }, ({ org }) =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    yield* print(yield* client.webhooks.list({ path: { organizationId: yield* organizationId(org) } }))
  })
).pipe(
  Command.withDescription("An organisation's webhook endpoints and chat channels, with their state (OWNER).")
)

const webhooksRedeliver = Command.make(
  "webhooks:redeliver",
  {
    org: orgOption,
    endpoint: Options.text("endpoint").pipe(
      Options.withSchema(WebhookEndpointId),
      Options.withDescription("endpoint id")
    ),
    message: Options.text("message").pipe(
      Options.repeated,
      Options.withSchema(Schema.mutable(Schema.Array(WebhookMessageId))),
      Options.withDescription("message id (repeatable); without it, every failed delivery of the endpoint")
    )
  },
  ({ endpoint, message, org }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      const path = { organizationId: yield* organizationId(org), endpointId: endpoint }
      let messages: ReadonlyArray<WebhookMessageId> = message
      if (messages.length === 0) {
        // Every failed delivery, page after page: what an operator redrives after fixing a receiver.
        const failed: Array<WebhookMessageId> = []
        let cursor: string | undefined
        do {
          const page = yield* client.webhooks.deliveries({
            path,
            urlParams: { limit: 500, ...(cursor === undefined ? {} : { cursor }) }
          })
          failed.push(...page.items.filter((d) => d.status === "failed").map((d) => d.messageId))
          cursor = page.nextCursor ?? undefined
        } while (cursor !== undefined)
        messages = failed
      }
      for (const messageId of messages) yield* client.webhooks.redeliver({ path: { ...path, messageId } })
      yield* print({ redelivered: messages })
    })
).pipe(
  Command.withDescription(
    "Send messages to a webhook endpoint again (--message, repeatable), or every delivery of it that failed."
  )
)

const deadLetters = Command.make("taps:dead-letters", {}, () =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    const items: Array<unknown> = []
    let cursor: string | undefined
    do {
      const page = yield* client.infrastructure.deadLetters({
        urlParams: { limit: 500, ...(cursor === undefined ? {} : { cursor }) }
      })
      items.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    yield* print(items)
  })
).pipe(Command.withDescription("Taps PostgreSQL refused or could not attribute, with the reason (ADMIN)."))

const redrive = Command.make(
  "taps:redrive",
  {
    limit: Options.integer("limit").pipe(
      Options.withDefault(1000),
      Options.withDescription("how many of the oldest dead letters to try")
    )
  },
  ({ limit }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      yield* print(yield* client.infrastructure.redriveDeadLetters({ urlParams: { limit } }))
    })
).pipe(
  Command.withDescription(
    "Store dead-lettered taps again once their cause is fixed; prints what was stored (ADMIN)."
  )
)

const failedJobs = Command.make("jobs:failed", {}, () =>
  Effect.gen(function* () {
    const client = yield* AdminClient
    yield* print((yield* client.infrastructure.failedJobs({ urlParams: { limit: 500 } })).items)
  })
).pipe(Command.withDescription("Jobs that failed every attempt, newest first (ADMIN)."))

const retryJob = Command.make(
  "jobs:retry",
  { job: Args.text({ name: "JOB_ID" }).pipe(Args.repeated) },
  ({ job }) =>
    Effect.gen(function* () {
      const client = yield* AdminClient
      let ids: ReadonlyArray<string> = job
      // Without ids: every failed job, what an operator redrives after fixing the cause.
      if (ids.length === 0)
        ids = (yield* client.infrastructure.failedJobs({ urlParams: { limit: 500 } })).items.map((j) => j.id)
      for (const jobId of ids) yield* client.infrastructure.retryJob({ path: { jobId } })
      yield* print({ retried: ids })
    })
).pipe(
  Command.withDescription(
    "Run failed jobs again with fresh attempts: the ids given, or every failed job (ADMIN)."
  )
)

export const adminCommands = [
  Command.provide(organizationCreate, AdminClientLive),
  Command.provide(eventCreate, AdminClientLive),
  Command.provide(eventStatus, AdminClientLive),
  Command.provide(windowsSet, AdminClientLive),
  Command.provide(bandsImport, AdminClientLive),
  Command.provide(auditExport, AdminClientLive),
  Command.provide(analyticsSummary, AdminClientLive),
  Command.provide(tapsExport, AdminClientLive),
  Command.provide(webhooksList, AdminClientLive),
  Command.provide(webhooksRedeliver, AdminClientLive),
  Command.provide(deadLetters, AdminClientLive),
  Command.provide(redrive, AdminClientLive),
  Command.provide(failedJobs, AdminClientLive),
  Command.provide(retryJob, AdminClientLive)
] as const
