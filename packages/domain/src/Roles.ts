/*
 * The order of an organisation's roles, one rule for the server (which refuses a request) and the console
 * (which hides what the role may not use): each role may do everything the roles below it may.
 */
import type { MemberRole } from "./Membership.js"

/** VIEWER < EDITOR < OWNER. */
const ranks: Readonly<Record<MemberRole, number>> = { VIEWER: 1, EDITOR: 2, OWNER: 3 }

/** The roles, least first (as role pickers list them). */
export const ordered: ReadonlyArray<MemberRole> = ["VIEWER", "EDITOR", "OWNER"]

export const roleRank = (role: MemberRole): number => ranks[role]

/** Whether `role` holds at least `minimum`. */
export const atLeast = (role: MemberRole, minimum: MemberRole): boolean => ranks[role] >= ranks[minimum]
