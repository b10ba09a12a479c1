import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { BandUid } from "@tapline/domain"
import { Cause, Effect, Exit, Layer, Option, Schema } from "effect"
import { AuditRepository } from "../src/Audit/AuditRepository.js"
import { BandRepository } from "../src/Bands/BandRepository.js"
import { EventRepository } from "../src/Events/EventRepository.js"
import { OrganizationRepository } from "../src/Organizations/OrganizationRepository.js"
import { WindowRepository } from "../src/Windows/WindowRepository.js"
import { makeEvent, makeOrganization, makeWindow } from "./support/Fixtures.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

const TestLayer = Layer.mergeAll(
  OrganizationRepository.Default,
  EventRepository.Default,
  WindowRepository.Default,
  BandRepository.Default,
  AuditRepository.Default
).pipe(Layer.provideMerge(MigratedDatabase))

/** The PostgreSQL error (code, constraint, message) a failed statement carries; code "none" if it succeeded. */
const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return { code: "none", constraint: undefined, message: "" }
    const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
    const pg = (error as { cause?: { code?: string; constraint?: string; message?: string } } | undefined)
      ?.cause
    return { code: pg?.code ?? "unknown", constraint: pg?.constraint, message: pg?.message ?? "" }
  })

describe("database constraints", () => {
  layer(TestLayer, { excludeTestServices: true })((it) => {
    it.effect("windows of one event may touch but never overlap", () =>
      Effect.gen(function* () {
        const organization = yield* makeOrganization()
        const event = yield* makeEvent(organization)
        const other = yield* makeEvent(organization)
        yield* makeWindow(event, "PRE", "2026-06-01T10:00:00Z", "2026-06-01T18:00:00Z")
        // [start, end): a window starting at the previous end is fine.
        yield* makeWindow(event, "LIVE", "2026-06-01T18:00:00Z", "2026-06-01T22:00:00Z")

        const overlap = yield* failure(
          makeWindow(event, "POST", "2026-06-01T21:59:59Z", "2026-06-02T10:00:00Z")
        )
        expect(overlap).toMatchObject({ code: "23P01", constraint: "windows_no_overlap" })

        // The same times in another event do not collide.
        yield* makeWindow(other, "LIVE", "2026-06-01T12:00:00Z", "2026-06-01T20:00:00Z")
      })
    )

    it.effect("a window must start before it ends", () =>
      Effect.gen(function* () {
        const event = yield* makeEvent(yield* makeOrganization())
        const empty = yield* failure(
          makeWindow(event, "LIVE", "2026-06-01T18:00:00Z", "2026-06-01T18:00:00Z")
        )
        expect(empty).toMatchObject({ code: "23514", constraint: "windows_starts_before_ends" })
      })
    )

    it.effect("a window cannot point at a javascript: URL even when written around the code", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const organization = yield* makeOrganization()
        const event = yield* makeEvent(organization)
        const bad = yield* failure(sql`
          insert into windows (organization_id, event_id, type, url, starts_at, ends_at)
          values (${organization.id}, ${event.id}, 'LIVE', 'javascript:alert(1)', now(), now() + interval '1 hour')`)
        expect(bad.code).toBe("23514")
      })
    )

    it.effect("band ids are unique per event, and a band cannot join another tenant's event", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const organization = yield* makeOrganization()
        const intruder = yield* makeOrganization()
        const event = yield* makeEvent(organization)
        yield* sql`insert into bands (organization_id, event_id, band_uid) values (${organization.id}, ${event.id}, 'B-1')`
        const duplicate = yield* failure(
          sql`insert into bands (organization_id, event_id, band_uid) values (${organization.id}, ${event.id}, 'B-1')`
        )
        expect(duplicate).toMatchObject({ code: "23505", constraint: "bands_event_uid_key" })

        const crossTenant = yield* failure(
          sql`insert into bands (organization_id, event_id, band_uid) values (${intruder.id}, ${event.id}, 'B-2')`
        )
        expect(crossTenant.code).toBe("23503")

        const badUid = yield* failure(
          sql`insert into bands (organization_id, event_id, band_uid) values (${organization.id}, ${event.id}, 'bad id!')`
        )
        expect(badUid.code).toBe("23514")
        expect(Schema.is(BandUid)("bad id!")).toBe(false)
      })
    )

    it.effect("organisation slugs are unique and DNS-safe", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const organization = yield* makeOrganization()
        const taken = yield* failure(
          sql`insert into organizations (slug, name) values (${organization.slug}, 'Copy')`
        )
        expect(taken.code).toBe("23505")
        const upper = yield* failure(sql`insert into organizations (slug, name) values ('Not-Lower', 'Bad')`)
        expect(upper.code).toBe("23514")
      })
    )

    it.effect("the manually active window must be one of the event's own", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const organization = yield* makeOrganization()
        const event = yield* makeEvent(organization)
        const other = yield* makeEvent(organization)
        const foreignWindow = yield* makeWindow(other, "LIVE", "2026-06-01T10:00:00Z", "2026-06-01T18:00:00Z")
        const bad = yield* failure(
          sql`update events set schedule_mode = 'manual', manual_window_id = ${foreignWindow.id} where id = ${event.id}`
        )
        expect(bad).toMatchObject({ code: "23503", constraint: "events_manual_window_fkey" })

        const own = yield* makeWindow(event, "LIVE", "2026-06-01T10:00:00Z", "2026-06-01T18:00:00Z")
        yield* sql`update events set schedule_mode = 'manual', manual_window_id = ${own.id} where id = ${event.id}`
        // Deleting the chosen window clears the choice instead of leaving a dangling id.
        yield* sql`delete from windows where id = ${own.id}`
        const [row] = yield* sql<{
          manualWindowId: string | null
        }>`select manual_window_id from events where id = ${event.id}`
        expect(row?.manualWindowId).toBeNull()
      })
    )

    it.effect("the audit log refuses UPDATE, DELETE and TRUNCATE", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const audit = yield* AuditRepository
        const entry = yield* audit.append({
          actorType: "system",
          actorId: null,
          organizationId: null,
          action: "test.append",
          resourceType: "test",
          resourceId: null,
          oldValues: null,
          newValues: { ok: true },
          ip: null,
          userAgent: null,
          requestId: null,
          traceId: null
        })
        const update = yield* failure(sql`update audit_log set action = 'forged' where id = ${entry.id}`)
        expect(update.code).toBe("TL001")
        expect(update.message).toContain("append-only")
        const remove = yield* failure(sql`delete from audit_log where id = ${entry.id}`)
        expect(remove.code).toBe("TL001")
        const truncate = yield* failure(sql`truncate audit_log`)
        expect(truncate.code).toBe("TL001")
        const [still] = yield* sql<{ action: string }>`select action from audit_log where id = ${entry.id}`
        expect(still?.action).toBe("test.append")
      })
    )
  })
})
