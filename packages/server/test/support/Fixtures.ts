import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Band, Event, Organization, Tag, User, Window } from "@tapline/domain"
import { DateTime, Effect, Option, type ParseResult, Schema } from "effect"

/**
 * Rows written straight from a domain Model's insert schema, past the services' rules: what a test needs in
 * place before it exercises those rules (production creates rows through the services). A refusal of the
 * database stays a typed `SqlError`, so constraint tests can read its code.
 */
const insertInto =
  <S extends typeof Organization | typeof Event | typeof Window | typeof Band | typeof Tag | typeof User>(
    model: S,
    table: string
  ) =>
  (
    row: S["insert"]["Type"]
  ): Effect.Effect<S["Type"], SqlError | ParseResult.ParseError, SqlClient.SqlClient> =>
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      SqlSchema.single({
        Request: model.insert as unknown as Schema.Schema<unknown, Record<string, unknown>>,
        Result: model as Schema.Schema<S["Type"], unknown>,
        execute: (request) => sql`insert into ${sql(table)} ${sql.insert(request)} returning *`
      })(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))
    )

export const insertRow = {
  organization: insertInto(Organization, "organizations"),
  event: insertInto(Event, "events"),
  window: insertInto(Window, "windows"),
  band: insertInto(Band, "bands"),
  tag: insertInto(Tag, "tags"),
  user: insertInto(User, "users")
} as const

let sequence = 0

export const makeOrganization = (overrides: Partial<Parameters<typeof Organization.insert.make>[0]> = {}) =>
  insertRow.organization(
    Organization.insert.make({
      slug: Schema.decodeSync(Organization.fields.slug)(`org-${process.pid}-${++sequence}`),
      name: "Test organisation",
      websiteUrl: Option.none(),
      contactEmail: Option.none(),
      smsHelpText: Option.none(),
      branding: {},
      ...overrides
    })
  )

export const makeEvent = (
  organization: Organization,
  overrides: Partial<Parameters<typeof Event.insert.make>[0]> = {}
) =>
  insertRow.event(
    Event.insert.make({
      organizationId: organization.id,
      campaignId: Option.none(),
      name: "Test event",
      venue: Option.none(),
      address: Option.none(),
      latitude: Option.none(),
      longitude: Option.none(),
      timezone: Schema.decodeSync(Event.fields.timezone)("Europe/Paris"),
      status: "ACTIVE",
      scheduleMode: "scheduled",
      manualWindowId: Option.none(),
      fallbackUrl: Option.none(),
      estimatedAttendees: Option.none(),
      quietHoursStart: Option.none(),
      quietHoursEnd: Option.none(),
      assignOnFlag: false,
      autoLifecycle: false,
      startsAt: Option.none(),
      endsAt: Option.none(),
      ...overrides
    })
  )

export const at = (iso: string) => DateTime.unsafeMake(iso)

export const makeWindow = (event: Event, type: Window["type"], startsAt: string, endsAt: string) =>
  insertRow.window(
    Window.insert.make({
      organizationId: event.organizationId,
      eventId: event.id,
      type,
      title: type,
      url: Schema.decodeSync(Window.fields.url)(`https://example.com/${type.toLowerCase()}`),
      startsAt: at(startsAt),
      endsAt: at(endsAt)
    })
  )
