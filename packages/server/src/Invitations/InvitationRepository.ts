import * as SqlClient from "@effect/sql/SqlClient"
import type { InvitationId, MemberRole, OrganizationId, UserId } from "@tapline/domain"
import { Effect } from "effect"
import { hashSecret } from "../Crypto/Tokens.js"

export interface InvitationRow {
  readonly id: InvitationId
  readonly organizationId: OrganizationId
  readonly email: string
  readonly role: MemberRole
  readonly invitedBy: string | null
  readonly createdAt: Date
  readonly expiresAt: Date
}

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
        sql<InvitationRow & { organizationName: string; organizationLogoUrl: string | null }>`
          select ${columns}, o.name as organization_name, o.branding->>'logoUrl' as organization_logo_url
          from invitations i join organizations o on o.id = i.organization_id
          where i.token_hash = ${hashSecret(token)} and ${isOpen}
          ${options.lock ? sql`for update of i` : sql``}`.pipe(Effect.map((rows) => rows[0]))

      /** Whether some organisation has an open invitation for this email (it may then sign up by email). */
      const isInvited = (email: string) =>
        sql<{ invited: boolean }>`
          select exists (select 1 from invitations i where lower(i.email) = lower(${email}) and ${isOpen})
            as invited`.pipe(Effect.map((rows) => rows[0]?.invited === true))

      const listOpen = (organizationId: OrganizationId) =>
        sql<InvitationRow>`
          select ${columns} from invitations i where i.organization_id = ${organizationId} and ${isOpen}
          order by i.created_at desc limit 500`

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
          const [created] = yield* sql<InvitationRow>`
            insert into invitations as i (organization_id, email, role, token_hash, invited_by, expires_at)
            values (${row.organizationId}, ${row.email}, ${row.role}, ${hashSecret(row.token)},
              ${row.invitedBy}, now() + make_interval(days => ${row.validDays}))
            returning ${columns}`
          return created!
        })

      /** False when there was no unused invitation with this id in the organisation. */
      const revoke = (organizationId: OrganizationId, id: InvitationId) =>
        sql`
          update invitations set revoked_at = now()
          where id = ${id} and organization_id = ${organizationId} and accepted_at is null and revoked_at is null
          returning id`.pipe(Effect.map((rows) => rows.length > 0))

      /** A new token for an open invitation (the old one stops matching), valid `validDays` from now. */
      const rotate = (organizationId: OrganizationId, id: InvitationId, token: string, validDays: number) =>
        sql<InvitationRow>`
          update invitations as i
          set token_hash = ${hashSecret(token)}, expires_at = now() + make_interval(days => ${validDays})
          where i.id = ${id} and i.organization_id = ${organizationId} and ${isOpen}
          returning ${columns}`.pipe(Effect.map((rows) => rows[0]))

      const markAccepted = (id: InvitationId, userId: UserId) =>
        sql`update invitations set accepted_at = now(), accepted_by = ${userId} where id = ${id}`

      return { findOpen, isInvited, listOpen, replace, revoke, rotate, markAccepted } as const
    })
  }
) {}
