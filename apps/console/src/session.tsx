import { type MemberRole, type Me as MeSchema, Roles } from "@tapline/domain"
import { createContext, useContext } from "react"

/** The signed-in user, as `GET /api/v1/me` answers. */
export type Me = typeof MeSchema.Type

export interface Org {
  readonly id: string
  readonly name: string
  readonly slug: string
}

export interface Session {
  readonly me: Me
  readonly org: Org
  /** The caller's role here; a platform ADMIN counts as OWNER everywhere (the API agrees). */
  readonly role: MemberRole
}

export const roleIn = (me: Me, orgId: string): MemberRole =>
  me.platformAdmin ? "OWNER" : (me.memberships.find((m) => m.organizationId === orgId)?.role ?? "VIEWER")

/** Whether the caller may use controls that need `role`. Only hides controls: the API still decides. */
export const can = (session: Session, role: MemberRole) => Roles.atLeast(session.role, role)

const SessionContext = createContext<Session | null>(null)
export const SessionProvider = SessionContext.Provider

export const useSession = (): Session => {
  const session = useContext(SessionContext)
  if (session === null) throw new Error("useSession outside a signed-in console")
  return session
}
