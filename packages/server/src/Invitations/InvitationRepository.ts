import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { InvitationId, MemberRole, OrganizationId, type UserId } from "@tapline/domain"
import { Effect, Option, Schema } from "effect"
import { hashSecret } from "../Crypto/Tokens.js"
import { rowsOrDie } from "../Database/Rows.js"

/** The columns of an invitation the service reads, as PostgreSQL returns them (timestamptz as `Date`). */
export const InvitationRow = Schema.Struct({
  id: InvitationId,
  organizationId: OrganizationId,
  email: Schema.String,
  role: MemberRole,
  invitedBy: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  expiresAt: Schema.DateFromSelf
})
export type InvitationRow = typeof InvitationRow.Type

/** An open invitation as its link shows it: with its organisation's name and logo. */
const OpenInvitation = Schema.Struct({
  ...InvitationRow.fields,
  organizationName: Schema.String,
  organizationLogoUrl: Schema.NullOr(Schema.String)
})

/**
 * The only SQL on `invitations`. Tokens are looked up by their hash; the table never holds a usable link.
 * An invitation is open when it is neither accepted, revoked nor expired and its organisation is not deleted:
 * that rule is written once, here.
 */
export class InvitationRepository extends Effect.Service<InvitationRepository>()(
  "@tapline/server/InvitationRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const columns = sql.unsafe(
        "i.id, i.organization_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at"
      )
      const isOpen = sql`i.accepted_at is null and i.revoked_at is null and i.expires_at > now()
        and i.organization_id in (select id from organizations where deleted_at is null)`

      /** The open invitation of this link, with its organisation's name; `lock` for accepting it. */
      const findOpen = (token: string, options: { readonly lock?: boolean } = {}) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: Schema.String,
            Result: OpenInvitation,
            execute: (token) => sql`
          select ${columns}, o.name as organization_name, o.branding->>'logoUrl' as organization_logo_url
          from invitations i join organizations o on o.id = i.organization_id
          where i.token_hash = ${hashSecret(token)} and ${isOpen}
          ${options.lock ? sql`for update of i` : sql``}`
          })(token)
        ).pipe(Effect.map(Option.getOrUndefined))

      /** Whether some organisation has an open invitation for this email (it may then sign up by email). */
      const isInvited = (email: string) =>
        rowsOrDie(
          SqlSchema.single({
            Request: Schema.String,
            Result: Schema.Struct({ invited: Schema.Boolean }),
            execute: (email) => sql`
          select exists (select 1 from invitations i where lower(i.email) = lower(${email}) and ${isOpen})
            as invited`
          })(email)
        ).pipe(Effect.map((row) => row.invited === true))

      const listOpen = (organizationId: OrganizationId) =>
        rowsOrDie(
          SqlSchema.findAll({
            Request: OrganizationId,
            Result: InvitationRow,
            execute: (organizationId) => sql`
          select ${columns} from invitations i where i.organization_id = ${organizationId} and ${isOpen}
          order by i.created_at desc limit 500`
          })(organizationId)
        )

      /** A new link for an email revokes the links it had (one live link per person and organisation). */
      const replace = (row: {
        readonly organizationId: OrganizationId
        readonly email: string
        readonly role: MemberRole
        readonly token: string
        readonly invitedBy: string
        readonly validDays: number
      }) =>
        Effect.gen(function* () {
          yield* sql`
            update invitations set revoked_at = now()
            where organization_id = ${row.organizationId} and lower(email) = lower(${row.email})
              and accepted_at is null and revoked_at is null`
          return yield* rowsOrDie(
            SqlSchema.single({
              Request: OrganizationId,
              Result: InvitationRow,
              execute: (organizationId) => sql`
            insert into invitations as i (organization_id, email, role, token_hash, invited_by, expires_at)
            values (${organizationId}, ${row.email}, ${row.role}, ${hashSecret(row.token)},
              ${row.invitedBy}, now() + make_interval(days => ${row.validDays}))
            returning ${columns}`
            })(row.organizationId)
          )
        })

      /** False when there was no unused invitation with this id in the organisation. */
      const revoke = (organizationId: OrganizationId, id: InvitationId) =>
        sql`
          update invitations set revoked_at = now()
          where id = ${id} and organization_id = ${organizationId} and accepted_at is null and revoked_at is null
          returning id`.pipe(Effect.map((rows) => rows.length > 0))

      /** A new token for an open invitation (the old one stops matching), valid `validDays` from now. */
      const rotate = (organizationId: OrganizationId, id: InvitationId, token: string, validDays: number) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: InvitationId,
            Result: InvitationRow,
            execute: (id) => sql`
          update invitations as i
          set token_hash = ${hashSecret(token)}, expires_at = now() + make_interval(days => ${validDays})
          where i.id = ${id} and i.organization_id = ${organizationId} and ${isOpen}
          returning ${columns}`
          })(id)
        ).pipe(Effect.map(Option.getOrUndefined))

      const markAccepted = (id: InvitationId, userId: UserId) =>
        sql`update invitations set accepted_at = now(), accepted_by = ${userId} where id = ${id}`

      return { findOpen, isInvited, listOpen, replace, revoke, rotate, markAccepted } as const
    })
  }
) {}
