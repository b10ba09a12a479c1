import type { RedirectKind, WindowType } from "../ReadModel/Snapshot.js"

/** An unknown band that this tap assigns to an event; the writer creates the band row. */
export interface Assignment {
  readonly eventId: string
  readonly distanceMiles: number | null
  readonly flagged: boolean
  readonly flagReason: string | null
}

export interface UtmValues {
  readonly source?: string
  readonly medium?: string
  readonly campaign?: string
  readonly term?: string
  readonly content?: string
}

/** One served redirect as the hot path hands it over: compact JSON in the stream, a row in `taps` later. */
export interface TapRecord {
  readonly id: string
  /**
   * Null only for a tap served while this process could not tell the organisation (Redis down, the
   * organisation never seen here); `orgRef` then says how the URL named it and the writer resolves it.
   */
  readonly orgId: string | null
  /** `slug:<slug>` or `event:<event id>`, present when `orgId` is null. */
  readonly orgRef?: string
  readonly eventId: string | null
  readonly bandId: string | null
  readonly bandUid: string
  readonly windowId: string | null
  readonly mode: WindowType | null
  readonly kind: RedirectKind
  readonly url: string
  /** Epoch milliseconds. */
  readonly at: number
  readonly ua: string | null
  readonly ip: string | null
  readonly utm: UtmValues | null
  /** HEAD requests and crawler user agents: redirected, stored, never counted. */
  readonly bot: boolean
  /** Set by the pipeline when the same band tapped within the duplicate interval. */
  readonly dup: boolean
  readonly assign: Assignment | null
  /**
   * The W3C `traceparent` of the redirect's span, present only when that request was traced: the writer's
   * batch span links to it, so a tap's trace continues into the batch that stored it.
   */
  readonly trace?: string
}

export interface RecorderStats {
  /** In memory, waiting for the next append. */
  readonly buffered: number
  /** Found the buffer full: left to the journal (Redis) or dropped (embedded mode, which has no journal). */
  readonly overflowed: number
  readonly appended: number
  /** Whose append failed or was not tried (Redis down): left to the journal, appended later from disk. */
  readonly spooled: number
  /** Appended from the journal: this process's own segments and those of processes that are gone. */
  readonly replayed: number
  /** Lost: neither the journal nor memory could hold them. Each is also logged at ERROR. */
  readonly dropped: number
  /** The journal refused them (a full disk): in memory only, until Redis or the journal takes them. */
  readonly held: number
  /** Whether the last journal write succeeded; "none" where there is no journal (embedded mode). */
  readonly journal: "ok" | "failing" | "none"
  /** Journal segments on disk that still hold taps the stream may not have. */
  readonly journalSegments: number
}
