import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  DependencyUnavailable,
  Forbidden,
  type InvitationId,
  type MemberRole,
  NotFound,
  type OrganizationId,
  TaplineApi
} from "@tapline/domain"
import { DateTime, Effect } from "effect"
import { Changes } from "../Admin/Changes.js"
import { Audit } from "../Audit/Audit.js"
import { requireRole, requireUser } from "../Auth/Authorization.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"
import { Email } from "../Email/Email.js"

const VALID_DAYS = 7

interface InvitationRow {
  readonly id: InvitationId
  readonly organizationId: OrganizationId
  readonly email: string
  readonly role: MemberRole
  readonly invitedBy: string | null
  readonly createdAt: Date
  readonly expiresAt: Date
}

const toInvitation = (row: InvitationRow) => ({
  ...row,
  createdAt: DateTime.unsafeFromDate(row.createdAt),
  expiresAt: DateTime.unsafeFromDate(row.expiresAt)
})

const columns = "id, organization_id, email, role, invited_by, created_at, expires_at"

/** An invitation link that is unknown, used, revoked or expired: the answer never says which. */
const unusable = (token: string) => new NotFound({ resource: "invitation", id: token.slice(0, 8) })

export const InvitationsHandlers = HttpApiBuilder.group(TaplineApi, "invitations", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const changes = yield* Changes
    const audit = yield* Audit
    const email = yield* Email
    const config = yield* AppConfig
    const limits = yield* AuthRateLimit

    /** Neither accepted, revoked nor expired: a link that still works. */
    const isOpen = sql`accepted_at is null and revoked_at is null and expires_at > now()`

    const open = (token: string) =>
      sql<InvitationRow & { organizationName: string }>`
        select i.id, i.organization_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at,
          o.name as organization_name
        from invitations i join organizations o on o.id = i.organization_id and o.deleted_at is null
        where i.token_hash = ${hashSecret(token)} and ${isOpen}`.pipe(
        Effect.map((rows) => rows[0]),
        Effect.orDie
      )

    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.gen(function* () {
          const principal = yield* requireRole(path.organizationId, "OWNER")
          const token = randomToken("tli_")
          const link = new URL("/sign-in", publicOrigin(config))
          link.searchParams.set("invitation", token)
          // The mail is sent inside the transaction: if it cannot be sent, no invitation exists.
          const row = yield* changes.transact(
            Effect.gen(function* () {
              const [organization] = yield* sql<{ name: string }>`
                select name from organizations where id = ${path.organizationId} and deleted_at is null`
              if (organization === undefined) {
                return yield* Effect.fail(new NotFound({ resource: "organization", id: path.organizationId }))
              }
              yield* sql`
                update invitations set revoked_at = now()
                where organization_id = ${path.organizationId} and lower(email) = lower(${payload.email})
                  and accepted_at is null and revoked_at is null`
              const [created] = yield* sql<InvitationRow>`
                insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
                values (${path.organizationId}, ${payload.email}, ${payload.role}, ${hashSecret(token)},
                  ${principal.actorId}, now() + make_interval(days => ${VALID_DAYS}))
                returning ${sql.unsafe(columns)}`
              yield* audit.record({
                organizationId: path.organizationId,
                action: "invitation.create",
                resourceType: "invitation",
                resourceId: created!.id,
                newValues: { email: payload.email, role: payload.role }
              })
              yield* email
                .send({
                  to: payload.email,
                  subject: `You are invited to ${organization.name} on Tapline`,
                  text:
                    `You have been invited to join ${organization.name} on Tapline as ${payload.role}.\n\n` +
                    `Accept within ${VALID_DAYS} days by signing in here:\n${link.href}\n\n` +
                    "The link works once. If you did not expect this, ignore this email."
                })
                .pipe(
                  // The cause (host, port, server reply) goes to the log, not to the caller.
                  Effect.tapError((error) => Effect.logWarning("invitation email not sent", error.message)),
                  Effect.mapError(
                    () =>
                      new DependencyUnavailable({
                        message:
                          "the invitation email could not be sent; nothing was created, try again later"
                      })
                  )
                )
              return created!
            })
          )
          return toInvitation(row)
        })
      )
      .handle("list", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          const rows = yield* sql<InvitationRow>`
            select ${sql.unsafe(columns)} from invitations
            where organization_id = ${path.organizationId} and ${isOpen}
            order by created_at desc limit 500`
          return rows.map(toInvitation)
        }).pipe(Effect.catchTag("SqlError", Effect.die))
      )
      .handle("revoke", ({ path }) =>
        Effect.gen(function* () {
          yield* requireRole(path.organizationId, "OWNER")
          yield* changes.transact(
            Effect.gen(function* () {
              const revoked = yield* sql`
                update invitations set revoked_at = now()
                where id = ${path.invitationId} and organization_id = ${path.organizationId}
                  and accepted_at is null and revoked_at is null
                returning id`
              if (revoked.length === 0) {
                return yield* Effect.fail(new NotFound({ resource: "invitation", id: path.invitationId }))
              }
              yield* audit.record({
                organizationId: path.organizationId,
                action: "invitation.revoke",
                resourceType: "invitation",
                resourceId: path.invitationId
              })
            })
          )
        })
      )
      .handle("preview", ({ path }) =>
        Effect.gen(function* () {
          const row = yield* open(path.token)
          if (row === undefined) return yield* Effect.fail(unusable(path.token))
          return {
            organizationName: row.organizationName,
            email: row.email,
            role: row.role,
            expiresAt: DateTime.unsafeFromDate(row.expiresAt)
          }
        })
      )
      .handle("accept", ({ path }) =>
        Effect.gen(function* () {
          const userId = yield* requireUser
          // Tokens are unguessable; the limit stops a signed-in account trying them in bulk.
          yield* limits.attempt("invitation-accept")
          return yield* changes.transact(
            Effect.gen(function* () {
              // Locked, so two acceptances of one link cannot both pass.
              const [row] = yield* sql<InvitationRow>`
                select ${sql.unsafe(columns)} from invitations
                where token_hash = ${hashSecret(path.token)} and ${isOpen}
                  and organization_id in (select id from organizations where deleted_at is null)
                for update`
              if (row === undefined) return yield* Effect.fail(unusable(path.token))
              const [user] = yield* sql<{ email: string }>`select email from users where id = ${userId}`
              if (user?.email.toLowerCase() !== row.email.toLowerCase()) {
                return yield* Effect.fail(
                  new Forbidden({
                    message: "this invitation is for another email address; sign in as that user"
                  })
                )
              }
              const inserted = yield* sql`
                insert into memberships (user_id, organization_id, role) values (${userId}, ${row.organizationId}, ${row.role})
                on conflict (user_id, organization_id) do nothing returning user_id`
              if (inserted.length === 0) {
                return yield* Effect.fail(
                  new Conflict({ message: "you are already a member of this organisation" })
                )
              }
              yield* sql`update invitations set accepted_at = now(), accepted_by = ${userId} where id = ${row.id}`
              yield* audit.record({
                organizationId: row.organizationId,
                action: "invitation.accept",
                resourceType: "invitation",
                resourceId: row.id,
                newValues: { userId, role: row.role }
              })
              return { organizationId: row.organizationId, role: row.role }
            })
          )
        })
      )
  })
)
