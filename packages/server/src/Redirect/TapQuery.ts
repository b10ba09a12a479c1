import { stripControlCharacters } from "@tapline/domain"
import type { UtmValues } from "../Taps/TapRecord.js"
import type { OrgRef } from "./RedirectStore.js"

/*
 * The query of GET /e (DESIGN.md §3): which band, which organisation (by event id, organisation id or the
 * host's sub-domain) and the UTM values to pass on. Anything else in it is ignored.
 */

const BAND_UID = /^[A-Za-z0-9-]{1,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
export const UTM_KEYS = ["source", "medium", "campaign", "term", "content"] as const
const MAX_UTM_LENGTH = 256
export const MAX_USER_AGENT = 512

export interface ParsedTap {
  readonly head: boolean
  readonly bandUid: string
  readonly ref: OrgRef
  readonly eventId: string | null
  readonly orgId: string | null
  readonly utm: UtmValues | null
  /** Set by the hot path when this request is traced: the span's `traceparent`, carried into the tap. */
  readonly trace?: string
}

const AMBIGUOUS = Symbol("ambiguous")
const WANTED = new Set(["bandId", "eventId", "orgId", ...UTM_KEYS.map((key) => `utm_${key}`)])

/**
 * The parameters /e reads, in one pass over the query (URLSearchParams plus getAll would allocate for every
 * name on every tap). A repeated parameter is AMBIGUOUS; undecodable percent-encoding is null overall.
 */
const readQuery = (query: string): Map<string, string | typeof AMBIGUOUS> | null => {
  const found = new Map<string, string | typeof AMBIGUOUS>()
  let start = 0
  while (start <= query.length) {
    let end = query.indexOf("&", start)
    if (end === -1) end = query.length
    const eq = query.indexOf("=", start)
    const keyEnd = eq === -1 || eq > end ? end : eq
    const key = query.slice(start, keyEnd)
    if (WANTED.has(key)) {
      const raw = keyEnd === end ? "" : query.slice(keyEnd + 1, end)
      let value: string
      try {
        value = raw.includes("%") || raw.includes("+") ? decodeURIComponent(raw.replaceAll("+", " ")) : raw
      } catch {
        return null
      }
      found.set(key, found.has(key) ? AMBIGUOUS : value)
    }
    start = end + 1
  }
  return found
}

export const parse = (
  method: string | undefined,
  url: string,
  host: string | undefined,
  tapDomain: string
): ParsedTap | { readonly status: number; readonly message: string } => {
  const query = url.indexOf("?")
  const params = readQuery(query === -1 ? "" : url.slice(query + 1))
  if (params === null) return { status: 400, message: "the query is malformed" }
  const bandUid = params.get("bandId")
  if (typeof bandUid !== "string" || !BAND_UID.test(bandUid)) {
    return { status: 400, message: "bandId is missing or malformed" }
  }
  const eventId = params.get("eventId") ?? null
  const orgId = params.get("orgId") ?? null
  if (eventId === AMBIGUOUS || (eventId !== null && !UUID.test(eventId))) {
    return { status: 400, message: "eventId is malformed" }
  }
  if (orgId === AMBIGUOUS || (orgId !== null && !UUID.test(orgId))) {
    return { status: 400, message: "orgId is malformed" }
  }
  let utm: Record<string, string> | null = null
  if (params.size > 1) {
    for (const key of UTM_KEYS) {
      const value = params.get(`utm_${key}`)
      if (value === undefined) continue
      if (value === AMBIGUOUS || value.length > MAX_UTM_LENGTH) {
        return { status: 400, message: `utm_${key} is malformed` }
      }
      utm ??= {}
      // Control characters never reach a recorded tap: PostgreSQL refuses NUL in text.
      utm[key] = stripControlCharacters(value)
    }
  }
  let ref: OrgRef | null = null
  if (eventId !== null) ref = { _tag: "event", eventId: eventId.toLowerCase() }
  else if (orgId !== null) ref = { _tag: "org", orgId: orgId.toLowerCase() }
  else if (host !== undefined) {
    const name = host.replace(/:\d+$/, "").toLowerCase()
    const suffix = `.${tapDomain}`
    if (name.endsWith(suffix)) {
      const slug = name.slice(0, -suffix.length)
      if (SLUG.test(slug)) ref = { _tag: "slug", slug }
    }
  }
  if (ref === null) return { status: 404, message: "unknown organisation" }
  return {
    head: method === "HEAD",
    bandUid,
    ref,
    eventId: eventId?.toLowerCase() ?? null,
    orgId: orgId?.toLowerCase() ?? null,
    utm
  }
}

/** The organisation's destination with the tap's UTM values in place of any the URL had. */
export const withUtm = (destination: string, utm: UtmValues | null): string => {
  if (utm === null) return destination
  const url = new URL(destination)
  for (const key of UTM_KEYS) {
    const value = utm[key]
    if (value !== undefined) url.searchParams.set(`utm_${key}`, value)
  }
  return url.toString()
}
