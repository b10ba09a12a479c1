import type {
  BandEntry,
  EventSnapshot,
  OrgSnapshot,
  RedirectKind,
  WindowType
} from "../ReadModel/Snapshot.js"
import type { Assignment } from "../Taps/TapRecord.js"

export type { Assignment }

const DAY_MS = 86_400_000
const EARTH_RADIUS_MILES = 3958.8

/** Flag thresholds of DESIGN.md §3: 100 miles, or 500 when the tap is within a day of the event. */
export const FLAG_DISTANCE_MILES = 100
export const FLAG_DISTANCE_NEAR_EVENT_MILES = 500

export interface Coordinates {
  readonly latitude: number
  readonly longitude: number
}

export interface ResolveInput {
  readonly org: OrgSnapshot
  /** Entries of this band_uid in the organisation; empty when the band is unknown. */
  readonly bands: ReadonlyArray<BandEntry>
  /** From the `eventId` form of the URL: only this event is considered. */
  readonly eventId: string | null
  readonly now: number
  readonly tapper: Coordinates | null
  readonly defaultUrl: string
  /** False while the read model is unreachable: an unknown band then goes to the organisation, unassigned. */
  readonly allowAssignment: boolean
}

export interface Decision {
  readonly kind: RedirectKind
  readonly url: string
  /** The window sends taps to the hosted registration page; `url` is where that page links on. */
  readonly page: boolean
  readonly eventId: string | null
  readonly windowId: string | null
  readonly mode: WindowType | null
  readonly bandId: string | null
  readonly assignment: Assignment | null
}

export const distanceMiles = (a: Coordinates, b: Coordinates): number => {
  const rad = Math.PI / 180
  const dLat = (b.latitude - a.latitude) * rad
  const dLon = (b.longitude - a.longitude) * rad
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_MILES * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Time between now and the event's span; 0 while it runs, Infinity when it has no dates. */
const gapMs = (event: EventSnapshot, now: number): number => {
  if (event.startsAt === null || event.endsAt === null) return Number.POSITIVE_INFINITY
  if (now < event.startsAt) return event.startsAt - now
  if (now >= event.endsAt) return now - event.endsAt
  return 0
}

const eventDistance = (event: EventSnapshot, tapper: Coordinates | null): number | null =>
  tapper === null || event.latitude === null || event.longitude === null
    ? null
    : distanceMiles(tapper, { latitude: event.latitude, longitude: event.longitude })

const nextWindowStart = (event: EventSnapshot, now: number): number => {
  for (const window of event.windows) if (window.startsAt >= now) return window.startsAt
  return Number.POSITIVE_INFINITY
}

/**
 * The event closest in date (whole days, so events of the same day tie), then nearest to the tapper, then
 * with the soonest next window; the id settles what is left, so every instance picks the same event.
 */
export const rankEvents = (
  events: ReadonlyArray<EventSnapshot>,
  now: number,
  tapper: Coordinates | null
): ReadonlyArray<EventSnapshot> => {
  if (events.length < 2) return events
  const keyed = events.map((event) => ({
    event,
    days: Math.ceil(gapMs(event, now) / DAY_MS),
    miles: eventDistance(event, tapper) ?? Number.POSITIVE_INFINITY,
    next: nextWindowStart(event, now)
  }))
  // Equal infinities subtract to NaN, which is falsy: the comparison then moves on to the next key.
  keyed.sort(
    (a, b) =>
      a.days - b.days ||
      a.miles - b.miles ||
      a.next - b.next ||
      (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0)
  )
  return keyed.map((k) => k.event)
}

const organisationChain = (org: OrgSnapshot, defaultUrl: string) =>
  org.websiteUrl !== null
    ? { kind: "ORG" as const, url: org.websiteUrl, page: false }
    : { kind: "DEFAULT" as const, url: defaultUrl, page: false }

/** Window (by time, or the manual choice), then the event's fallback, then the organisation, then default. */
const eventDestination = (event: EventSnapshot, org: OrgSnapshot, now: number, defaultUrl: string) => {
  const window =
    event.scheduleMode === "manual"
      ? event.windows.find((w) => w.id === event.manualWindowId)
      : event.windows.find((w) => w.startsAt <= now && now < w.endsAt)
  if (window !== undefined) {
    return {
      kind: "WINDOW" as const,
      url: window.url,
      page: window.page === true,
      windowId: window.id,
      mode: window.type
    }
  }
  if (event.fallbackUrl !== null) {
    return { kind: "FALLBACK" as const, url: event.fallbackUrl, page: false, windowId: null, mode: null }
  }
  return { ...organisationChain(org, defaultUrl), windowId: null, mode: null }
}

/** The redirect of DESIGN.md §3 for one tap. Pure: the same input always gives the same decision. */
export const resolve = (input: ResolveInput): Decision => {
  const { defaultUrl, now, org, tapper } = input
  // Organisations have a handful of ACTIVE events: a scan beats building a map on every tap.
  const eventById = (id: string) => org.events.find((event) => event.id === id)
  const known = input.eventId === null ? input.bands : input.bands.filter((b) => b.eventId === input.eventId)

  const toOrganisation = (
    eventId: string | null,
    bandId: string | null,
    assignment: Assignment | null
  ): Decision => ({
    ...organisationChain(org, defaultUrl),
    eventId,
    windowId: null,
    mode: null,
    bandId,
    assignment
  })

  // The common tap: a band of one event. Decided without building arrays.
  if (known.length === 1) {
    const band = known[0]!
    const event = eventById(band.eventId)
    if (event === undefined || (band.flagged && !event.assignOnFlag)) {
      return toOrganisation(band.eventId, band.bandId, null)
    }
    const destination = eventDestination(event, org, now, defaultUrl)
    return {
      kind: destination.kind,
      url: destination.url,
      page: destination.page,
      windowId: destination.windowId,
      mode: destination.mode,
      eventId: event.id,
      bandId: band.bandId,
      assignment: null
    }
  }

  if (known.length > 0) {
    const active = known.filter((band) => eventById(band.eventId) !== undefined)
    if (active.length === 0) return toOrganisation(known[0]!.eventId, known[0]!.bandId, null)
    const [event] = rankEvents(
      active.map((band) => eventById(band.eventId)!),
      now,
      tapper
    )
    const band = active.find((b) => b.eventId === event!.id)!
    if (band.flagged && !event!.assignOnFlag) return toOrganisation(event!.id, band.bandId, null)
    return {
      ...eventDestination(event!, org, now, defaultUrl),
      eventId: event!.id,
      bandId: band.bandId,
      assignment: null
    }
  }

  if (!input.allowAssignment) return toOrganisation(input.eventId, null, null)
  const candidates =
    input.eventId === null ? org.events : org.events.filter((event) => event.id === input.eventId)
  const [event] = rankEvents(candidates, now, tapper)
  if (event === undefined) return toOrganisation(input.eventId, null, null)

  const miles = eventDistance(event, tapper)
  const limit = gapMs(event, now) <= DAY_MS ? FLAG_DISTANCE_NEAR_EVENT_MILES : FLAG_DISTANCE_MILES
  const flagged = miles !== null && miles > limit
  const assignment: Assignment = {
    eventId: event.id,
    distanceMiles: miles === null ? null : Math.round(miles * 10) / 10,
    flagged,
    flagReason: flagged ? `tapped ${Math.round(miles!)} miles from the event (limit ${limit})` : null
  }
  if (flagged && !event.assignOnFlag) return toOrganisation(event.id, null, assignment)
  return { ...eventDestination(event, org, now, defaultUrl), eventId: event.id, bandId: null, assignment }
}
