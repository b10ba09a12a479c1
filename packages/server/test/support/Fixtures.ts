import { Event, Organization, Window } from "@tapline/domain"
import { DateTime, Effect, Option, Schema } from "effect"
import { EventRepository } from "../../src/Events/EventRepository.js"
import { OrganizationRepository } from "../../src/Organizations/OrganizationRepository.js"
import { WindowRepository } from "../../src/Windows/WindowRepository.js"

let sequence = 0

export const makeOrganization = (overrides: Partial<Parameters<typeof Organization.insert.make>[0]> = {}) =>
  Effect.flatMap(OrganizationRepository, (repo) =>
    repo.insert(
      Organization.insert.make({
        slug: Schema.decodeSync(Organization.fields.slug)(`org-${process.pid}-${++sequence}`),
        name: "Test organisation",
        websiteUrl: Option.none(),
        contactEmail: Option.none(),
        branding: {},
        ...overrides
      })
    )
  )

export const makeEvent = (
  organization: Organization,
  overrides: Partial<Parameters<typeof Event.insert.make>[0]> = {}
) =>
  Effect.flatMap(EventRepository, (repo) =>
    repo.insert(
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
        assignOnFlag: false,
        autoLifecycle: false,
        startsAt: Option.none(),
        endsAt: Option.none(),
        ...overrides
      })
    )
  )

export const at = (iso: string) => DateTime.unsafeMake(iso)

export const makeWindow = (event: Event, type: Window["type"], startsAt: string, endsAt: string) =>
  Effect.flatMap(WindowRepository, (repo) =>
    repo.insert(
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
  )
