/*
 * What the hot path knows, as the projector writes it to the read model (JSON in Redis, objects in memory).
 * Plain data with epoch-millisecond times: the hot path reads it without decoding schemas.
 */

import type { RedirectKind, WindowType } from "@tapline/domain"

export type { RedirectKind, WindowType }

export interface WindowSnapshot {
  readonly id: string
  readonly type: WindowType
  readonly url: string
  /**
   * Taps go to the hosted registration page (with a token for the band), `url` being where the page links
   * on. Absent in snapshots written before the page existed: a URL window.
   */
  readonly page?: boolean
  readonly startsAt: number
  readonly endsAt: number
}

/** An ACTIVE event of the organisation (only ACTIVE events are in the read model). */
export interface EventSnapshot {
  readonly id: string
  readonly scheduleMode: "scheduled" | "manual"
  readonly manualWindowId: string | null
  readonly fallbackUrl: string | null
  readonly assignOnFlag: boolean
  readonly latitude: number | null
  readonly longitude: number | null
  /** The event's own dates, or its windows' span when it has none; null when it has neither. */
  readonly startsAt: number | null
  readonly endsAt: number | null
  /** Sorted by start. */
  readonly windows: ReadonlyArray<WindowSnapshot>
}

export interface OrgSnapshot {
  readonly id: string
  readonly slug: string
  readonly websiteUrl: string | null
  readonly events: ReadonlyArray<EventSnapshot>
  /** read_model_versions.version this snapshot was projected from. */
  readonly version: number
}

/** One event a band_uid belongs to. */
export interface BandEntry {
  readonly bandId: string
  readonly eventId: string
  readonly flagged: boolean
}
