import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { type OrganizationId, Principal, type UserId } from "@tapline/domain"
import { DateTime, Effect, Layer, Schedule } from "effect"
import { Audit } from "../src/Audit/Audit.js"
import type { SecretBox } from "../src/Crypto/SecretBox.js"
import { Email, type EmailMessage } from "../src/Email/Email.js"
import { Events } from "../src/Events/Events.js"
import { Invitations } from "../src/Invitations/Invitations.js"
import { Jobs, workQueue } from "../src/Jobs/Jobs.js"
import { deliver, emailQueue } from "../src/Mail/Mailer.js"
import { Members } from "../src/Members/Members.js"
import { Organizations } from "../src/Organizations/Organizations.js"
import { Users } from "../src/Users/Users.js"
import { Windows } from "../src/Windows/Windows.js"
import { apiKeyPrincipal, auditActions, failureOf, serviceHarness } from "./support/ServiceHarness.js"

/*
 * Issue 13: the domain rules that lived in HTTP handlers, tested on the services that now hold them (a real
 * database, the in-memory backends, no HTTP).
 */

/** The mail the invitations service sent, so a test can follow the link as the invitee would. */
const outbox: Array<EmailMessage> = []
const RecordingEmail = Layer.succeed(
  Email,
  Email.of({ provider: "test", send: (message) => Effect.sync(() => void outbox.push(message)) })
)

/** The `email.send` queue worked in this process, into the outbox. */
const MailWorker = Layer.scopedDiscard(
  Effect.gen(function* () {
    const jobs = yield* Jobs
    const context = yield* Effect.context<Email | SecretBox>()
    yield* workQueue(
      jobs,
      emailQueue,
      { retryLimit: 0, retryDelaySeconds: 1, backoff: false, concurrency: 1 },
      (job) => deliver(job).pipe(Effect.provide(context))
    )
  })
)

const services = Layer.mergeAll(
  Organizations.Default,
  Members.Default,
  Events.Default,
  Windows.Default,
  Invitations.Default
).pipe(
  Layer.provideMerge(Users.Default),
  Layer.provideMerge(Audit.Default),
  Layer.provideMerge(MailWorker),
  Layer.provideMerge(RecordingEmail),
  Layer.provideMerge(serviceHarness)
)

let sequence = 0
const unique = (prefix: string) => `${prefix}-${process.pid}-${++sequence}-${Date.now().toString(36)}`

const person = (userId: UserId, roles: Record<string, "OWNER" | "EDITOR" | "VIEWER"> = {}) =>
  new Principal({ actorType: "user", actorId: userId, userId, platformAdmin: false, roles })

const newUser = Effect.flatMap(Users, (users) => users.ensure({ email: `${unique("u")}@example.test` }))

/** An organisation founded by a new user, who is its OWNER. */
const founded = Effect.gen(function* () {
  const owner = yield* newUser
  const organization = yield* Effect.flatMap(Organizations, (organizations) =>
    organizations.create(person(owner.id), { slug: unique("org"), name: "Rules" } as never)
  )
  return { owner: owner.id, organizationId: organization.id as OrganizationId }
})

describe("feature rules", () => {
  layer(services, { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("organisations: reserved slugs and API keys cannot found one; the founder is its OWNER", () =>
      Effect.gen(function* () {
        const organizations = yield* Organizations
        const founder = yield* newUser
        expect(
          yield* failureOf(organizations.create(person(founder.id), { slug: "admin", name: "No" } as never))
        ).toContain("reserved")
        const key = apiKeyPrincipal
        expect(
          yield* failureOf(organizations.create(key, { slug: unique("key"), name: "No" } as never))
        ).toContain("Forbidden")
        expect((yield* organizations.slugAvailability("admin")).reason).toBe("reserved")
        expect((yield* organizations.slugAvailability("Not A Slug")).reason).toBe("invalid")

        const { organizationId, owner } = yield* founded
        const members = yield* Members
        const page = yield* members.list(organizationId, { limit: 10 })
        expect(page.items.map((member) => [member.userId, member.role])).toEqual([[owner, "OWNER"]])
        const slug = (yield* organizations.get(organizationId)).slug
        expect((yield* organizations.slugAvailability(slug)).reason).toBe("taken")
      })
    )

    it.effect("organisations: an empty PATCH records nothing, a real one records before and after", () =>
      Effect.gen(function* () {
        const organizations = yield* Organizations
        const { organizationId } = yield* founded
        expect((yield* organizations.update(organizationId, {} as never)).name).toBe("Rules")
        expect((yield* organizations.update(organizationId, { name: "Renamed" } as never)).name).toBe(
          "Renamed"
        )
        yield* organizations.remove(organizationId)
        expect(yield* failureOf(organizations.get(organizationId))).toContain("NotFound")
        expect(yield* auditActions(organizationId)).toEqual([
          "organization.create",
          "organization.update",
          "organization.delete"
        ])
      })
    )

    it.effect("members: the last OWNER can be neither demoted nor removed; a second one can", () =>
      Effect.gen(function* () {
        const members = yield* Members
        const { organizationId, owner } = yield* founded
        expect(yield* failureOf(members.setRole(organizationId, owner, "EDITOR"))).toContain(
          "at least one OWNER"
        )
        expect(yield* failureOf(members.remove(organizationId, owner))).toContain("at least one OWNER")
        const email = `${unique("second")}@example.test`
        const second = yield* members.add(organizationId, { email, role: "OWNER" } as never)
        expect(yield* failureOf(members.add(organizationId, { email, role: "VIEWER" } as never))).toContain(
          "already a member"
        )
        yield* members.setRole(organizationId, owner, "EDITOR")
        expect(yield* failureOf(members.remove(organizationId, second.userId))).toContain(
          "at least one OWNER"
        )
        yield* members.remove(organizationId, owner)
        const left = yield* members.list(organizationId, { limit: 10 })
        expect(left.items.map((member) => member.role)).toEqual(["OWNER"])
      })
    )

    it.effect("events: only the lifecycle's moves; asking for the current status changes nothing", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const { organizationId } = yield* founded
        const event = yield* events.create(organizationId, { name: "Show", timezone: "UTC" } as never)
        expect(event.status).toBe("DRAFT")
        expect(yield* failureOf(events.changeStatus(organizationId, event.id, "COMPLETED"))).toContain(
          "cannot go from DRAFT to COMPLETED"
        )
        expect((yield* events.changeStatus(organizationId, event.id, "DRAFT")).status).toBe("DRAFT")
        expect((yield* events.changeStatus(organizationId, event.id, "ACTIVE")).status).toBe("ACTIVE")
        expect((yield* events.changeStatus(organizationId, event.id, "CANCELLED")).status).toBe("CANCELLED")
        expect(yield* failureOf(events.changeStatus(organizationId, event.id, "ACTIVE"))).toContain(
          "cannot go from CANCELLED"
        )
        expect((yield* events.update(organizationId, event.id, {} as never)).name).toBe("Show")
        expect(yield* auditActions(event.id)).toEqual(["event.create", "event.status", "event.status"])
      })
    )

    it.effect("windows: a replacement that overlaps changes nothing, and says so", () =>
      Effect.gen(function* () {
        const events = yield* Events
        const windows = yield* Windows
        const { organizationId } = yield* founded
        const event = yield* events.create(organizationId, { name: "Show", timezone: "UTC" } as never)
        const at = (iso: string) => DateTime.unsafeMake(iso)
        const window = (type: string, from: string, to: string) =>
          ({
            type,
            title: type,
            url: `https://example.com/${type}`,
            startsAt: at(from),
            endsAt: at(to)
          }) as never
        yield* windows.replace(organizationId, event.id, [
          window("PRE", "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        ])
        const refused = yield* failureOf(
          windows.replace(organizationId, event.id, [
            window("PRE", "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z"),
            window("LIVE", "2030-01-01T11:00:00Z", "2030-01-01T13:00:00Z")
          ])
        )
        expect(refused).toContain("nothing was changed")
        const kept = yield* windows.list(organizationId, event.id, { limit: 10 })
        expect(kept.items.map((w) => w.type)).toEqual(["PRE"])
      })
    )

    it.effect("invitations: a link works once, for its email only, and not after it expires", () =>
      Effect.gen(function* () {
        const invitations = yield* Invitations
        const sql = yield* SqlClient.SqlClient
        const { organizationId, owner } = yield* founded
        const invitee = yield* newUser
        const email = (yield* sql<{ email: string }>`select email from users where id = ${invitee.id}`)[0]!
          .email
        /** The link of the mail the queue delivers after the `sent` mails before it. */
        const linkOf = (sent: number) =>
          Effect.sync(() => outbox[sent]).pipe(
            Effect.filterOrFail((mail) => mail !== undefined),
            Effect.retry(Schedule.spaced("50 millis")),
            Effect.timeout("20 seconds"),
            Effect.map(
              (mail) => new URL(mail.text.match(/https?:\/\/\S+/)![0]).searchParams.get("invitation")!
            )
          )

        const sent = outbox.length
        yield* invitations.create(person(owner), organizationId, { email, role: "EDITOR" })
        const token = yield* linkOf(sent)
        expect((yield* invitations.preview(token)).role).toBe("EDITOR")
        const stranger = yield* newUser
        expect(yield* failureOf(invitations.accept(stranger.id, token))).toContain("another email address")
        expect(yield* invitations.accept(invitee.id, token)).toEqual({ organizationId, role: "EDITOR" })
        expect(yield* failureOf(invitations.accept(invitee.id, token))).toContain("NotFound")
        expect(yield* failureOf(invitations.preview(token))).toContain("NotFound")

        const later = yield* newUser
        const laterEmail = (yield* sql<{ email: string }>`select email from users where id = ${later.id}`)[0]!
          .email
        yield* invitations.create(person(owner), organizationId, { email: laterEmail, role: "VIEWER" })
        const expiring = yield* linkOf(sent + 1)
        yield* sql`update invitations set expires_at = now() - interval '1 second'
          where organization_id = ${organizationId} and lower(email) = lower(${laterEmail})`
        expect(yield* failureOf(invitations.preview(expiring))).toContain("NotFound")
        expect(yield* failureOf(invitations.accept(later.id, expiring))).toContain("NotFound")
        expect((yield* invitations.listOpen(organizationId)).length).toBe(0)
      })
    )
  })
})
