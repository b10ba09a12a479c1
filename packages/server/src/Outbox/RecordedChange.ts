import type { OrganizationId } from "@tapline/domain"

/**
 * One change as the unit of work records it (`Admin/Changes.ts`): the audit entry is written from it and the
 * outbox announces its events. It lives here, below both, so that the outbox (which the tap pipeline writes
 * to) needs nothing from a feature.
 */
export interface RecordedChange {
  readonly organizationId: OrganizationId | null
  readonly action: string
  readonly resourceType: string
  readonly resourceId: string | null
  readonly oldValues?: unknown
  readonly newValues?: unknown
  /** Who acted, when no principal is signed in yet (a sign-in, a refresh). */
  readonly actor?: { readonly type: "user" | "system"; readonly id: string | null }
}
