import {
  CurrentPrincipal,
  Forbidden,
  type MemberRole,
  NotFound,
  type OrganizationId,
  type Principal,
  Roles,
  type UserId
} from "@tapline/domain"
import { Effect } from "effect"

/** The caller's role in an organisation: `ADMIN` for platform admins, null when it is not a member. */
export const roleIn = (principal: Principal, organizationId: OrganizationId): MemberRole | "ADMIN" | null =>
  principal.platformAdmin ? "ADMIN" : (principal.roles[organizationId] ?? null)

/**
 * Allows the request when the caller holds at least `minimum` in the organisation. A caller outside the
 * organisation learns nothing about it: 404, as for an id that does not exist.
 */
export const requireRole = (organizationId: OrganizationId, minimum: MemberRole) =>
  Effect.flatMap(CurrentPrincipal, (principal): Effect.Effect<Principal, NotFound | Forbidden> => {
    const role = roleIn(principal, organizationId)
    if (role === null) return Effect.fail(new NotFound({ resource: "organization", id: organizationId }))
    if (role !== "ADMIN" && !Roles.atLeast(role, minimum)) {
      return Effect.fail(
        new Forbidden({ message: `this needs the ${minimum} role in the organisation; you have ${role}` })
      )
    }
    return Effect.succeed(principal)
  })

export const requirePlatformAdmin = Effect.flatMap(
  CurrentPrincipal,
  (principal): Effect.Effect<Principal, Forbidden> =>
    principal.platformAdmin
      ? Effect.succeed(principal)
      : Effect.fail(new Forbidden({ message: "this needs a platform ADMIN" }))
)

/** Personal endpoints need a user: a session or a personal API key, not an organisation's key. */
export const requireUser = Effect.flatMap(CurrentPrincipal, (principal) =>
  principal.userId === null
    ? Effect.fail(new Forbidden({ message: "this needs a signed-in user, not an organisation API key" }))
    : Effect.succeed(principal.userId as UserId)
)

/**
 * The handler of an organisation's endpoint, run only for callers holding at least `minimum` there (see
 * `requireRole`); it gets the request and the caller.
 */
export const withRole =
  <Request extends { readonly path: { readonly organizationId: OrganizationId } }, A, E, R>(
    minimum: MemberRole,
    handler: (request: Request, principal: Principal) => Effect.Effect<A, E, R>
  ) =>
  (request: Request) =>
    Effect.flatMap(requireRole(request.path.organizationId, minimum), (principal) =>
      handler(request, principal)
    )
