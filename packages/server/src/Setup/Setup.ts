import { randomUUID } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  InvalidRequest,
  type OrganizationId,
  type SetupOrganization,
  type UserId
} from "@tapline/domain"
import { Effect, Option } from "effect"
import { Changes } from "../Admin/Changes.js"
import { Audit } from "../Audit/Audit.js"
import { Passkeys } from "../Auth/Passkeys.js"
import { SignIn } from "../Auth/SignIn.js"
import { DEMO_SLUG } from "../Demo/DemoSeed.js"
import { RESERVED_SLUGS } from "../Organizations/Organizations.js"
import * as SetupTokens from "./SetupTokens.js"

interface Person {
  readonly token: string
  readonly email: string
  readonly name?: string | undefined
}

/**
 * First run (DESIGN.md §6): with a setup link, the first person registers a passkey and becomes platform
 * ADMIN and OWNER of the demo organisation or of one they name. The token is only checked when the browser
 * asks for passkey options, and used (once) in the transaction that creates the user: a refused passkey or a
 * taken slug leaves the link working.
 */
export class Setup extends Effect.Service<Setup>()("@tapline/server/Setup", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const passkeys = yield* Passkeys
    const signIn = yield* SignIn
    const audit = yield* Audit
    const changes = yield* Changes

    const demoOrganization = Effect.map(
      sql<{ id: OrganizationId; name: string }>`
        select id, name from organizations where slug = ${DEMO_SLUG} and deleted_at is null`,
      (rows) => Option.fromNullable(rows[0])
    )

    const status = Effect.gen(function* () {
      const open = yield* SetupTokens.isOpen
      const demo = open ? yield* demoOrganization : Option.none()
      return { open, demoOrganization: Option.getOrNull(Option.map(demo, (d) => d.name)) }
    })

    const registrationOptions = (person: Person) =>
      Effect.gen(function* () {
        yield* SetupTokens.check(person.token)
        // The id the user will have: the passkey's user handle names it from the start.
        const userId = randomUUID() as UserId
        return yield* passkeys.setupOptions(userId, { email: person.email, name: person.name ?? "" })
      })

    /** The organisation the first person owns, in the transaction: the demo one, or a new one. */
    const organizationFor = (choice: typeof SetupOrganization.Type) =>
      Effect.gen(function* () {
        if (choice.kind === "demo") {
          const demo = yield* demoOrganization
          if (Option.isNone(demo)) {
            return yield* new InvalidRequest({
              message: "there is no demo organisation here; name a new one"
            })
          }
          return { id: demo.value.id, created: false }
        }
        if (RESERVED_SLUGS.has(choice.slug)) {
          return yield* new Conflict({ message: `the slug "${choice.slug}" is reserved` })
        }
        const [row] = yield* sql<{ id: OrganizationId }>`
          insert into organizations (slug, name) values (${choice.slug}, ${choice.name})
          on conflict (slug) do nothing
          returning id`
        if (row === undefined) return yield* new Conflict({ message: `the slug "${choice.slug}" is taken` })
        yield* audit.record({
          organizationId: row.id,
          action: "organization.create",
          resourceType: "organization",
          resourceId: row.id,
          newValues: { slug: choice.slug, name: choice.name }
        })
        return { id: row.id, created: true }
      })

    const complete = (
      input: Person & {
        readonly organization: typeof SetupOrganization.Type
        readonly credential: { readonly response: Record<string, unknown> }
      }
    ) =>
      Effect.gen(function* () {
        // Checked first, so that a closed setup answers 410 whatever the credential.
        yield* SetupTokens.check(input.token)
        const verified = yield* passkeys.verifySetup(input.credential)
        const userId = verified.userId
        if (userId === null) {
          return yield* new InvalidRequest({ message: "the registration expired; start again" })
        }
        const organization = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* SetupTokens.redeem(input.token)
            yield* sql`
              insert into users (id, email, name, platform_role)
              values (${userId}, ${input.email}, ${input.name?.slice(0, 200) ?? ""}, 'ADMIN')`
            const actor = { type: "user" as const, id: userId }
            yield* audit.record({
              organizationId: null,
              actor,
              action: "user.create",
              resourceType: "user",
              resourceId: userId,
              newValues: { email: input.email, platformRole: "ADMIN", via: "setup" }
            })
            yield* passkeys.insertVerified(userId, verified.info, "Passkey 1")
            const organization = yield* organizationFor(input.organization)
            yield* sql`
              insert into memberships (user_id, organization_id, role)
              values (${userId}, ${organization.id}, 'OWNER')`
            yield* audit.record({
              organizationId: organization.id,
              actor,
              action: "setup.complete",
              resourceType: "user",
              resourceId: userId,
              newValues: {
                platformRole: "ADMIN",
                organizationRole: "OWNER",
                newOrganization: organization.created
              }
            })
            return organization
          })
        )
        if (organization.created) yield* changes.project(organization.id)
        // A brand-new user has no second factor: the session opens at once.
        return yield* signIn.openSession(userId, "passkey:setup")
      })

    return {
      status: Effect.orDie(status),
      registrationOptions: (person: Person) =>
        registrationOptions(person).pipe(Effect.catchTag("SqlError", Effect.die)),
      complete: (input: Parameters<typeof complete>[0]) =>
        complete(input).pipe(Effect.catchTag("SqlError", Effect.die))
    } as const
  })
}) {}
