import {
  Conflict,
  DependencyUnavailable,
  Forbidden,
  type InvitationId,
  type MemberRole,
  NotFound,
  type OrganizationId,
  type Principal,
  type UserId
} from "@tapline/domain"
import { DateTime, Effect, Option } from "effect"
import { Changes } from "../Admin/Changes.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { randomToken } from "../Crypto/Tokens.js"
import { Mailer } from "../Mail/Mailer.js"
import * as MailTemplates from "../Mail/MailTemplates.js"
import { MemberRepository } from "../Members/MemberRepository.js"
import { hostedLogoPath } from "../Organizations/OrganizationLogo.js"
import { OrganizationRepository } from "../Organizations/OrganizationRepository.js"
import { UserRepository } from "../Users/UserRepository.js"
import { InvitationRepository, type InvitationRow } from "./InvitationRepository.js"

/** How long an invitation link works. */
export const VALID_DAYS = 7

const toInvitation = (row: InvitationRow) => ({
  ...row,
  createdAt: DateTime.unsafeFromDate(row.createdAt),
  expiresAt: DateTime.unsafeFromDate(row.expiresAt)
})

/** An invitation link that is unknown, used, revoked or expired: the answer never says which. */
const unusable = (token: string) => new NotFound({ resource: "invitation", id: token.slice(0, 8) })

/** Invitations into an organisation: a link by email that works once, for that email only. */
export class Invitations extends Effect.Service<Invitations>()("@tapline/server/Invitations", {
  effect: Effect.gen(function* () {
    const repository = yield* InvitationRepository
    const organizations = yield* OrganizationRepository
    const members = yield* MemberRepository
    const users = yield* UserRepository
    const changes = yield* Changes
    const mailer = yield* Mailer
    const config = yield* AppConfig
    // Only the log provider: nobody gets the mail, the inviter must share the link.
    const emails = config.email.providers.some((provider) => provider !== "log")
    const linkFor = (token: string) => {
      const link = new URL("/sign-in", publicOrigin(config))
      link.searchParams.set("invitation", token)
      return link.href
    }

    /**
     * The mail is enqueued inside the transaction: it exists if and only if the invitation does, and the
     * job queue retries it while the mail providers are down.
     */
    const create = Effect.fn("Invitations.create")(function* (
      principal: Principal,
      organizationId: OrganizationId,
      input: { readonly email: string; readonly role: MemberRole }
    ) {
      const token = randomToken("tli_")
      const link = linkFor(token)
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const organization = yield* organizations.find(organizationId)
          if (organization === undefined) return yield* changes.notFound("organization", organizationId)
          const created = yield* repository.replace({
            organizationId,
            email: input.email,
            role: input.role,
            token,
            invitedBy: principal.actorId,
            validDays: VALID_DAYS
          })
          yield* changes.record({
            organizationId,
            action: "invitation.create",
            resourceType: "invitation",
            resourceId: created.id,
            newValues: { email: input.email, role: input.role }
          })
          yield* mailer
            .send(
              "invitation",
              input.email,
              MailTemplates.invitation(MailTemplates.brandOf(organization), {
                role: input.role,
                link,
                validDays: VALID_DAYS
              })
            )
            .pipe(
              Effect.tapError((error) => Effect.logWarning("invitation email not enqueued", error.message)),
              Effect.mapError(
                () =>
                  new DependencyUnavailable({
                    message: "the invitation email could not be queued; nothing was created, try again later"
                  })
              )
            )
          return created
        })
      )
      return { ...toInvitation(row), link, emailed: emails }
    })

    /** "Copy link": the link was shown once; a new one replaces it rather than the server keeping it. */
    const newLink = Effect.fn("Invitations.newLink")(function* (
      organizationId: OrganizationId,
      id: InvitationId
    ) {
      const token = randomToken("tli_")
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const rotated = yield* repository.rotate(organizationId, id, token, VALID_DAYS)
          if (rotated === undefined) return yield* changes.notFound("invitation", id)
          yield* changes.record({
            organizationId,
            action: "invitation.link",
            resourceType: "invitation",
            resourceId: id
          })
          return rotated
        })
      )
      return { ...toInvitation(row), link: linkFor(token), emailed: false }
    })

    const listOpen = Effect.fn("Invitations.listOpen")(function* (organizationId: OrganizationId) {
      const rows = yield* Effect.orDie(repository.listOpen(organizationId))
      return rows.map(toInvitation)
    })

    const revoke = Effect.fn("Invitations.revoke")(function* (
      organizationId: OrganizationId,
      id: InvitationId
    ) {
      yield* changes.transact(
        Effect.gen(function* () {
          if (!(yield* repository.revoke(organizationId, id)))
            return yield* changes.notFound("invitation", id)
          yield* changes.record({
            organizationId,
            action: "invitation.revoke",
            resourceType: "invitation",
            resourceId: id
          })
        })
      )
    })

    /** What the sign-in page shows about a link before anyone signs in. */
    const preview = Effect.fn("Invitations.preview")(function* (token: string) {
      const row = yield* Effect.orDie(repository.findOpen(token))
      if (row === undefined) return yield* Effect.fail(unusable(token))
      return {
        organizationName: row.organizationName,
        organizationLogoUrl: hostedLogoPath(row.organizationLogoUrl),
        email: row.email,
        role: row.role,
        expiresAt: DateTime.unsafeFromDate(row.expiresAt)
      }
    })

    /** The signed-in user joins with the invitation's role, if they are the person it was sent to. */
    const accept = Effect.fn("Invitations.accept")(function* (userId: UserId, token: string) {
      return yield* changes.transact(
        Effect.gen(function* () {
          // Locked, so two acceptances of one link cannot both pass.
          const row = yield* repository.findOpen(token, { lock: true })
          if (row === undefined) return yield* Effect.fail(unusable(token))
          const user = yield* Effect.orDie(users.findById(userId))
          if (Option.getOrUndefined(user)?.email.toLowerCase() !== row.email.toLowerCase()) {
            return yield* new Forbidden({
              message: "this invitation is for another email address; sign in as that user"
            })
          }
          if (!(yield* members.addIfAbsent({ userId, organizationId: row.organizationId, role: row.role }))) {
            return yield* new Conflict({ message: "you are already a member of this organisation" })
          }
          yield* repository.markAccepted(row.id, userId)
          yield* changes.record({
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

    return { create, newLink, listOpen, revoke, preview, accept } as const
  }),
  dependencies: [
    InvitationRepository.Default,
    OrganizationRepository.Default,
    MemberRepository.Default,
    UserRepository.Default,
    Mailer.Default
  ]
}) {}
