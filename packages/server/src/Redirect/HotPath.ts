import type { IncomingMessage, ServerResponse } from "node:http"
import * as Net from "node:net"
import * as Headers from "@effect/platform/Headers"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import { stripControlCharacters } from "@tapline/domain"
import { Context, Duration, Effect, Exit, Layer, Option, Runtime } from "effect"
import { isbot } from "isbot"
import { v7 as uuidv7 } from "uuid"
import { AppConfig } from "../Config/AppConfig.js"
import { clientAddress } from "../Net/ClientAddress.js"
import type { BandEntry, OrgSnapshot, RedirectKind } from "../ReadModel/Snapshot.js"
import type { TapRecord, UtmValues } from "../Taps/TapRecord.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { RateLimits } from "./RateLimits.js"
import { type OrgRef, RedirectStore } from "./RedirectStore.js"
import { type Coordinates, type Decision, resolve } from "./resolve.js"

/*
 * GET|HEAD /e — DESIGN.md §3. A plain node:http handler built once from Effect services: a warm request
 * starts no fiber and reads no Redis; a cache miss awaits one round trip. The tap is handed to the
 * recorder (which journals it to disk) just before the 302 is written.
 */

const BAND_UID = /^[A-Za-z0-9-]{1,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const UTM_KEYS = ["source", "medium", "campaign", "term", "content"] as const
const MAX_UTM_LENGTH = 256
const MAX_USER_AGENT = 512

/** On every /e answer, as flat name/value pairs: Node's fastest header path. */
const SAFE_HEADERS = [
  "cache-control",
  "no-store",
  "x-content-type-options",
  "nosniff",
  // Band ids are in the tap URL: the destination must not receive it as a referrer.
  "referrer-policy",
  "no-referrer"
] as const

const redirect = (response: ServerResponse, location: string) => {
  response.writeHead(302, [...SAFE_HEADERS, "location", location, "content-length", "0"])
  response.end()
}

/*
 * Node throws (ERR_INVALID_CHAR) on a header value with control characters or anything above U+00FF, and
 * a throw in a node:http handler ends the process. Stored URLs are serialised ASCII since migration 0008;
 * this check keeps a value that is not (a read model written by an older version, a hand-edited row) from
 * ever reaching writeHead: the tap answers with the next destination of the chain instead.
 */
const HEADER_SAFE_URL = /^[!-~]{1,4096}$/
const headerSafe = (url: string | null): url is string => url !== null && HEADER_SAFE_URL.test(url)

export type HotPathHandler = (request: IncomingMessage, response: ServerResponse) => void

export class HotPath extends Context.Tag("@tapline/server/HotPath")<HotPath, HotPathHandler>() {}

interface ParsedTap {
  readonly head: boolean
  readonly bandUid: string
  readonly ref: OrgRef
  readonly eventId: string | null
  readonly orgId: string | null
  readonly utm: UtmValues | null
}

const reject = (
  response: ServerResponse,
  status: number,
  message: string,
  extra: ReadonlyArray<string> = []
) => {
  const body = `${message}\n`
  response.writeHead(status, [
    ...SAFE_HEADERS,
    ...extra,
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(body))
  ])
  response.end(body)
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

/** `withUtm`, or null when the destination does not parse or would not fit in a header. */
const safeDestination = (destination: string | null, utm: UtmValues | null): string | null => {
  if (!headerSafe(destination)) return null
  try {
    const location = withUtm(destination, utm)
    return headerSafe(location) ? location : null
  } catch {
    return null
  }
}

/** IPv4 to /24, IPv6 to /48: enough for abuse analysis, not enough to single out a phone. */
export const truncateIp = (ip: string): string => {
  if (Net.isIPv4(ip)) return ip.replace(/\.\d+$/, ".0")
  const groups = ip.split(":")
  return `${groups.slice(0, 3).join(":")}::`
}

/** isbot's pattern is large; user agents repeat, so remember recent answers (bounded). */
const botVerdicts = new Map<string, boolean>()
const isBotAgent = (ua: string): boolean => {
  let verdict = botVerdicts.get(ua)
  if (verdict === undefined) {
    verdict = isbot(ua)
    if (botVerdicts.size >= 10_000) botVerdicts.clear()
    botVerdicts.set(ua, verdict)
  }
  return verdict
}

const headerValue = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name.toLowerCase()]
  return Array.isArray(value) ? value[value.length - 1] : value
}

export const make = Effect.gen(function* () {
  const store = yield* RedirectStore
  const recorder = yield* TapRecorder
  const limits = yield* RateLimits
  const { server, taps } = yield* AppConfig
  const tracer = yield* Effect.tracer
  const defaultUrl = server.defaultRedirectUrl.toString()
  const lookupTimeoutMs = Duration.toMillis(taps.lookupTimeout)
  const tapDomain = server.tapDomain.toLowerCase()
  const ipHeader = Option.getOrUndefined(taps.clientIpHeader)
  const latHeader = Option.getOrUndefined(taps.latitudeHeader)
  const lonHeader = Option.getOrUndefined(taps.longitudeHeader)

  const clientIp = (request: IncomingMessage): string =>
    clientAddress(
      ipHeader === undefined ? undefined : headerValue(request, ipHeader),
      request.socket.remoteAddress
    ) ?? ""

  const coordinates = (request: IncomingMessage): Coordinates | null => {
    if (latHeader === undefined || lonHeader === undefined) return null
    const latitude = Number(headerValue(request, latHeader))
    const longitude = Number(headerValue(request, lonHeader))
    if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return null
    if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null
    return { latitude, longitude }
  }

  /** The decision's destination, or the next of the chain (fallback, website, default) when it is unusable. */
  const servedDestination = (org: OrgSnapshot, decision: Decision, utm: UtmValues | null) => {
    const decided = safeDestination(decision.url, utm)
    if (decided !== null) return { url: decided, kind: decision.kind }
    const event = decision.eventId === null ? undefined : org.events.find((e) => e.id === decision.eventId)
    const chain: ReadonlyArray<readonly [RedirectKind, string | null]> = [
      ["FALLBACK", decision.kind === "WINDOW" ? (event?.fallbackUrl ?? null) : null],
      ["ORG", decision.kind === "WINDOW" || decision.kind === "FALLBACK" ? org.websiteUrl : null]
    ]
    for (const [kind, candidate] of chain) {
      const url = safeDestination(candidate, utm)
      if (url !== null) return { url, kind }
    }
    return { url: safeDestination(defaultUrl, utm) ?? defaultUrl, kind: "DEFAULT" as const }
  }

  const storedIp = (ip: string): string | null =>
    ip === "" || taps.ipStorage === "none" ? null : taps.ipStorage === "full" ? ip : truncateIp(ip)

  const sampled = (request: IncomingMessage) => {
    const traceparent = request.headers.traceparent
    if (typeof traceparent === "string") {
      const parent = HttpTraceContext.fromHeaders(Headers.fromInput({ traceparent }))
      if (Option.isSome(parent) && parent.value.sampled) return parent
    }
    return taps.traceRatio > 0 && Math.random() < taps.traceRatio ? Option.some(undefined) : Option.none()
  }

  const respond = (
    request: IncomingMessage,
    response: ServerResponse,
    tap: ParsedTap,
    ip: string,
    org: OrgSnapshot,
    bands: ReadonlyArray<BandEntry>,
    allowAssignment: boolean
  ): Decision | null => {
    const decision = resolve({
      org,
      bands,
      eventId: tap.eventId,
      now: Date.now(),
      tapper: coordinates(request),
      defaultUrl,
      allowAssignment
    })
    if (decision.bandId === null && !limits.unknownBand(ip)) {
      reject(response, 429, "too many unknown bands", ["retry-after", "60"])
      return null
    }
    const served = servedDestination(org, decision, tap.utm)
    record(response, served.url, request, tap, ip, {
      orgId: org.id,
      eventId: decision.eventId,
      bandId: decision.bandId,
      windowId: decision.windowId,
      mode: decision.mode,
      kind: served.kind,
      url: served.url,
      assign: decision.assignment
    })
    return decision
  }

  /*
   * The organisation is not known here and Redis cannot say: the attendee goes to the default URL, and the
   * tap is recorded with the organisation as the URL named it, for the writer to resolve from PostgreSQL.
   */
  const unattributed = (request: IncomingMessage, response: ServerResponse, tap: ParsedTap, ip: string) => {
    const url = safeDestination(defaultUrl, tap.utm) ?? defaultUrl
    const ref = tap.ref
    record(response, url, request, tap, ip, {
      orgId: ref._tag === "org" ? ref.orgId : null,
      ...(ref._tag === "slug" ? { orgRef: `slug:${ref.slug}` } : {}),
      ...(ref._tag === "event" ? { orgRef: `event:${ref.eventId}` } : {}),
      eventId: tap.eventId,
      bandId: null,
      windowId: null,
      mode: null,
      kind: "DEFAULT",
      url,
      assign: null
    })
  }

  /**
   * Hands the tap to the recorder, which journals it, and answers the 302 once it is in the journal (the
   * recorder writes the journal once per turn of the event loop): a kill cannot lose a served tap. Writing
   * the response later rather than corking its socket keeps it one write (corking measured ~25% slower).
   */
  const record = (
    response: ServerResponse,
    location: string,
    request: IncomingMessage,
    tap: ParsedTap,
    ip: string,
    served: Pick<
      TapRecord,
      "orgId" | "orgRef" | "eventId" | "bandId" | "windowId" | "mode" | "kind" | "url" | "assign"
    >
  ) => {
    const agent = request.headers["user-agent"]
    const ua = agent === undefined ? null : stripControlCharacters(agent.slice(0, MAX_USER_AGENT))
    recorder.record(
      {
        id: uuidv7(),
        ...served,
        bandUid: tap.bandUid,
        at: Date.now(),
        ua,
        ip: storedIp(ip),
        utm: tap.utm,
        bot: tap.head || (ua !== null && isBotAgent(ua)),
        dup: false
      },
      () => guard(response, () => redirect(response, location))
    )
  }

  const degraded = (response: ServerResponse, request: IncomingMessage, tap: ParsedTap, ip: string) => {
    const known = store.stale(tap.ref, tap.bandUid)
    if (known.org === null) return unattributed(request, response, tap, ip)
    respond(request, response, tap, ip, known.org, known.bands ?? [], false)
  }

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return reject(response, 405, "method not allowed", ["allow", "GET, HEAD"])
    }
    const tap = parse(request.method, request.url ?? "", request.headers.host, tapDomain)
    if ("status" in tap) return reject(response, tap.status, tap.message)
    const ip = clientIp(request)
    if (!limits.request(ip)) return reject(response, 429, "too many requests", ["retry-after", "60"])

    const trace = sampled(request)
    const span = Option.isSome(trace)
      ? tracer.span(
          "GET /e",
          Option.fromNullable(trace.value),
          Context.empty(),
          [],
          process.hrtime.bigint(),
          "server"
        )
      : undefined

    const finish = (org: OrgSnapshot | null, decision: Decision | null) => {
      if (span === undefined) return
      // A redirect is written after the journal write of this turn: not yet sent, but decided.
      span.attribute("http.response.status_code", response.headersSent ? response.statusCode : 302)
      span.attribute("tapline.band_uid", tap.bandUid)
      if (org !== null) span.attribute("tapline.organization_id", org.id)
      if (decision !== null) span.attribute("tapline.redirect_kind", decision.kind)
      span.end(process.hrtime.bigint(), Exit.void)
    }

    const answer = (org: OrgSnapshot | null, bands: ReadonlyArray<BandEntry>) => {
      if (org === null) {
        // Unknown to the store; if this process knew the organisation, the store is empty (restarted, being
        // rebuilt) rather than the organisation gone: answer from what this process knew.
        const known = store.stale(tap.ref, tap.bandUid)
        if (known.org !== null) {
          respond(request, response, tap, ip, known.org, known.bands ?? [], false)
          return finish(known.org, null)
        }
      }
      if (org === null || (tap.orgId !== null && org.id !== tap.orgId)) {
        reject(response, 404, "unknown organisation")
        return finish(null, null)
      }
      finish(org, respond(request, response, tap, ip, org, bands, true))
    }

    const found = store.lookup(tap.ref, tap.bandUid)
    if (!(found instanceof Promise)) return answer(found.org, found.bands)
    // Whichever comes first answers: Redis, its failure, or the deadline (then as if Redis were down).
    let answered = false
    const fallBack = () => {
      if (answered) return
      answered = true
      clearTimeout(deadline)
      guard(response, () => {
        degraded(response, request, tap, ip)
        finish(null, null)
      })
    }
    const deadline = setTimeout(fallBack, lookupTimeoutMs)
    found.then((result) => {
      if (answered) return
      answered = true
      clearTimeout(deadline)
      guard(response, () => answer(result.org, result.bands))
    }, fallBack)
  }

  const runtime = yield* Effect.runtime<never>()
  /*
   * The last line of defence: an exception here would end the process (a throw in a node:http handler, an
   * unhandled rejection in the lookup's continuation). The attendee gets the default URL, the operator an
   * ERROR, and the next tap is served.
   */
  const guard = (response: ServerResponse, f: () => void) => {
    try {
      f()
    } catch (error) {
      if (!response.headersSent) redirect(response, defaultUrl)
      else if (!response.writableEnded) response.destroy()
      Runtime.runFork(runtime)(
        Effect.logError("redirect failed; answered with the default URL").pipe(
          Effect.annotateLogs({ error: error instanceof Error ? error.message : String(error) })
        )
      )
    }
  }

  const guarded: HotPathHandler = (request, response) => guard(response, () => handler(request, response))
  return guarded
})

export const layer = Layer.effect(HotPath, make)
