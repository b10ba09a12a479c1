import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  CurrentPrincipal,
  Forbidden,
  NotFound,
  Organization,
  type OrganizationId,
  Slug,
  TaplineApi
} from "@tapline/domain"
import { Effect, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { decodeCursor, toPage } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole } from "../Auth/Authorization.js"

/** Sub-domains Tapline or its operators may need for themselves. */
export const RESERVED_SLUGS = new Set([
  "www",
  "api",
  "admin",
  "app",
  "console",
  "e",
  "tap",
  "taps",
  "mail",
  "smtp",
  "static",
  "assets",
  "cdn",
  "docs",
  "status",
  "help",
  "support",
  "auth",
  "login",
  "signin",
  "oauth",
  "health",
  "metrics",
  "tapline"
])

const decode = Schema.decodeUnknown(Organization)
const isSlug = Schema.is(Slug)

export const OrganizationsHandlers = HttpApiBuilder.group(TaplineApi, "organizations", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit

    const notFound = (id: string) => new NotFound({ resource: "organization", id })

    const load = (id: OrganizationId, lock = false) =>
      sql`select * from organizations where id = ${id} and deleted_at is null ${lock ? sql`for update` : sql``}`.pipe(
        Effect.flatMap((rows) => (rows[0] === undefined ? notFound(id) : Effect.succeed(rows[0]))),
        Effect.orDie
      )

    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const after = yield* decodeCursor(urlParams.cursor)
          const memberOf = Object.keys(principal.roles)
          const rows = yield* sql`
            select * from organizations where deleted_at is null
              ${principal.platformAdmin ? sql`` : sql`and id = any(${memberOf}::uuid[])`}
              ${after === null ? sql`` : sql`and id < ${after}`}
            order by id desc limit ${urlParams.limit + 1}`.pipe(Effect.orDie)
          const items = yield* Effect.orDie(Effect.forEach(rows, (row) => decode(row)))
          return toPage(items, urlParams.limit, (org) => org.id)
        })
      )
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          // Organisation keys act inside their organisation only; people and platform admins found new ones.
          if (!principal.platformAdmin && principal.userId === null) {
            return yield* new Forbidden({ message: "an organisation API key cannot create organisations" })
          }
          if (RESERVED_SLUGS.has(payload.slug)) {
            return yield* new Conflict({ message: `the slug "${payload.slug}" is reserved` })
          }
          const created = yield* changes.transact(
            Effect.gen(function* () {
              const [row] = yield* sql`
                insert into organizations ${sql.insert({
                  slug: payload.slug,
                  name: payload.name,
                  websiteUrl: payload.websiteUrl ?? null,
                  contactEmail: payload.contactEmail ?? null,
                  branding: JSON.stringify(payload.branding ?? {})
                })} returning *`
              const organization = yield* Effect.orDie(decode(row))
              if (!principal.platformAdmin && principal.userId !== null) {
                yield* sql`insert into memberships (user_id, organization_id, role)
                  values (${principal.userId}, ${organization.id}, 'OWNER')`
              }
              yield* audit.record({
                organizationId: organization.id,
                action: "organization.create",
                resourceType: "organization",
                resourceId: organization.id,
                newValues: row
              })
              return organization
            })
          )
          yield* changes.project(created.id)
          return created
        })
      )
      .handle("slugAvailability", ({ urlParams }) =>
        Effect.gen(function* () {
          const slug = urlParams.slug
          if (!isSlug(slug)) return { slug, available: false, reason: "invalid" as const }
          if (RESERVED_SLUGS.has(slug)) return { slug, available: false, reason: "reserved" as const }
          // Deleted organisations keep their slug: their bands may still be out there.
          const rows = yield* sql`select 1 from organizations where slug = ${slug}`.pipe(Effect.orDie)
          return rows.length > 0
            ? { slug, available: false, reason: "taken" as const }
            : { slug, available: true, reason: null }
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "VIEWER")
          return yield* Effect.orDie(decode(yield* load(path.organizationId)))
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          const columns = patchColumns(payload)
          if ("branding" in columns) columns.branding = JSON.stringify(columns.branding)
          const updated = yield* changes.transact(
            Effect.gen(function* () {
              const before = yield* load(path.organizationId, true)
              if (Object.keys(columns).length === 0) return yield* Effect.orDie(decode(before))
              const [after] = yield* sql`
                update organizations set ${sql.update(columns)}, updated_at = now()
                where id = ${path.organizationId} returning *`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "organization.update",
                resourceType: "organization",
                resourceId: path.organizationId,
                oldValues: before,
                newValues: after
              })
              return yield* Effect.orDie(decode(after))
            })
          )
          yield* changes.project(path.organizationId)
          return updated
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          yield* changes.transact(
            Effect.gen(function* () {
              const before = yield* load(path.organizationId, true)
              yield* sql`update organizations set deleted_at = now(), updated_at = now() where id = ${path.organizationId}`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "organization.delete",
                resourceType: "organization",
                resourceId: path.organizationId,
                oldValues: before
              })
            })
          )
          yield* changes.project(path.organizationId)
        })
      )
  })
)
