import { describe, expect, layer } from "@effect/vitest"
import { Band, BandUid, Email, HttpUrl, Membership, Tag, User } from "@tapline/domain"
import { Effect, Layer, Option, Schema } from "effect"
import { AuditRepository } from "../src/Audit/AuditRepository.js"
import { BandRepository } from "../src/Bands/BandRepository.js"
import { EventRepository } from "../src/Events/EventRepository.js"
import { MemberRepository } from "../src/Members/MemberRepository.js"
import { OrganizationRepository } from "../src/Organizations/OrganizationRepository.js"
import { TagRepository } from "../src/Tags/TagRepository.js"
import { UserRepository } from "../src/Users/UserRepository.js"
import { WindowRepository } from "../src/Windows/WindowRepository.js"
import { insertRow, makeEvent, makeOrganization, makeWindow } from "./support/Fixtures.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

const Repositories = Layer.mergeAll(
  OrganizationRepository.Default,
  UserRepository.Default,
  MemberRepository.Default,
  EventRepository.Default,
  WindowRepository.Default,
  TagRepository.Default,
  BandRepository.Default,
  AuditRepository.Default
).pipe(Layer.provideMerge(MigratedDatabase))

const uid = Schema.decodeSync(BandUid)

describe("repositories", () => {
  layer(Repositories, { excludeTestServices: true })((it) => {
    it.effect("organisations round-trip, by id and by slug, and leave with a soft delete", () =>
      Effect.gen(function* () {
        const repo = yield* OrganizationRepository
        const created = yield* makeOrganization({
          websiteUrl: Option.some(Schema.decodeSync(HttpUrl)("https://acme.test/")),
          branding: { primaryColor: "#112233" }
        })
        expect((yield* repo.find(created.id))?.name).toBe(created.name)
        expect(yield* repo.slugExists(created.slug)).toBe(true)
        expect(created.branding).toEqual({ primaryColor: "#112233" })

        const [renamed] = yield* repo.updateColumns(created.id, { name: "Renamed" })
        expect(renamed?.name).toBe("Renamed")

        yield* repo.softDelete(created.id)
        expect(yield* repo.find(created.id)).toBeUndefined()
        // A deleted organisation keeps its slug: its bands may still be out there.
        expect(yield* repo.slugExists(created.slug)).toBe(true)
      })
    )

    it.effect("users are found by email whatever its case, with their memberships", () =>
      Effect.gen(function* () {
        const users = yield* UserRepository
        const organization = yield* makeOrganization()
        const user = yield* insertRow.user(
          User.insert.make({
            email: Schema.decodeSync(Email)(`Ada.${process.pid}@Example.test`),
            name: "Ada",
            platformRole: "CUSTOMER",
            timezone: Schema.decodeSync(User.fields.timezone)("UTC")
          })
        )
        const found = yield* users.findByEmail(Schema.decodeSync(Email)(`ada.${process.pid}@example.TEST`))
        expect(Option.getOrThrow(found).id).toBe(user.id)

        const members = yield* MemberRepository
        yield* members.add(
          Membership.insert.make({ userId: user.id, organizationId: organization.id, role: "EDITOR" })
        )
        yield* members.add(
          Membership.insert.make({ userId: user.id, organizationId: organization.id, role: "OWNER" })
        )
        const memberships = yield* members.ofUser(user.id)
        expect(memberships.map((m) => m.role)).toEqual(["OWNER"])
        yield* members.remove({ userId: user.id, organizationId: organization.id })
        expect(yield* members.ofOrganization(organization.id)).toEqual([])
      })
    )

    it.effect("events, windows, bands and tags round-trip and stay inside their organisation", () =>
      Effect.gen(function* () {
        const events = yield* EventRepository
        const windows = yield* WindowRepository
        const bands = yield* BandRepository
        const tags = yield* TagRepository
        const organization = yield* makeOrganization()
        const other = yield* makeOrganization()
        const event = yield* makeEvent(organization)

        expect((yield* events.find(organization.id, event.id))?.name).toBe(event.name)
        // Another tenant asking for this id finds nothing.
        expect(yield* events.find(other.id, event.id)).toBeUndefined()
        expect(yield* events.exists(other.id, event.id)).toBe(false)

        yield* makeWindow(event, "PRE", "2026-06-01T10:00:00Z", "2026-06-01T18:00:00Z")
        yield* makeWindow(event, "LIVE", "2026-06-01T18:00:00Z", "2026-06-01T23:00:00Z")
        const listed = yield* windows.list(organization.id, event.id, { after: null, limit: 10 })
        expect(listed.map((w) => w.type)).toEqual(["PRE", "LIVE"])
        expect(yield* windows.list(other.id, event.id, { after: null, limit: 10 })).toEqual([])

        const inserted = yield* bands.insertUids({
          organizationId: organization.id,
          eventId: event.id,
          bandUids: [uid("A-1"), uid("A-2"), uid("A-3")]
        })
        expect(inserted).toBe(3)
        const again = yield* bands.insertUids({
          organizationId: organization.id,
          eventId: event.id,
          bandUids: [uid("A-3"), uid("A-4")]
        })
        expect(again).toBe(1)
        expect(yield* bands.countByEvent({ organizationId: organization.id, eventId: event.id })).toBe(4)

        const band = yield* insertRow.band(
          Band.insert.make({
            organizationId: organization.id,
            eventId: event.id,
            bandUid: uid("VIP-1"),
            autoAssigned: false,
            autoAssignDistanceMiles: Option.none(),
            flagged: false,
            flagReason: Option.none()
          })
        )
        const found = yield* bands.findByUid({
          organizationId: organization.id,
          eventId: event.id,
          bandUid: uid("VIP-1")
        })
        expect(Option.getOrThrow(found)).toEqual(band)
        expect(band.tapCount).toBe(0)

        const tag = yield* insertRow.tag(
          Tag.insert.make({ organizationId: organization.id, name: "VIP", color: Option.none() })
        )
        yield* tags.attach({ organizationId: organization.id, bandId: band.id, tagId: tag.id })
        expect(
          (yield* tags.tagsOfBand({ organizationId: organization.id, bandId: band.id })).map((t) => t.name)
        ).toEqual(["VIP"])
      })
    )

    it.effect("a band id may belong to several events of one organisation", () =>
      Effect.gen(function* () {
        const bands = yield* BandRepository
        const organization = yield* makeOrganization()
        const first = yield* makeEvent(organization)
        const second = yield* makeEvent(organization)
        for (const event of [first, second]) {
          yield* bands.insertUids({
            organizationId: organization.id,
            eventId: event.id,
            bandUids: [uid("SHARED-1")]
          })
        }
        const all = yield* bands.findAllByUid({ organizationId: organization.id, bandUid: uid("SHARED-1") })
        expect(all.map((b) => b.eventId).sort()).toEqual([first.id, second.id].sort())
      })
    )

    it.effect("audit entries round-trip with their old and new values verbatim", () =>
      Effect.gen(function* () {
        const audit = yield* AuditRepository
        const organization = yield* makeOrganization()
        const entry = yield* audit.append({
          actorType: "system",
          actorId: null,
          organizationId: organization.id,
          action: "organization.update",
          resourceType: "organization",
          resourceId: organization.id,
          oldValues: { name: "Old", utm_source: "kept_as_is" },
          newValues: { name: "New" },
          ip: "198.51.100.1",
          userAgent: "vitest",
          requestId: "req-1",
          traceId: "0af7651916cd43dd8448eb211c80319c"
        })
        const [listed] = yield* audit.listByOrganization(organization.id)
        expect(listed).toEqual(entry)
        expect(listed?.oldValues).toEqual({ name: "Old", utm_source: "kept_as_is" })
        expect(listed?.ip).toBe("198.51.100.1")
      })
    )
  })
})
