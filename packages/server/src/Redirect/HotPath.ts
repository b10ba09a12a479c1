import type { IncomingMessage, ServerResponse } from "node:http"
import * as Headers from "@effect/platform/Headers"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import { stripControlCharacters } from "@tapline/domain"
import { Context, Duration, Effect, Exit, Layer, Option, Runtime } from "effect"
import { v7 as uuidv7 } from "uuid"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { RegistrationTokens } from "../Crypto/PageToken.js"
import { clientAddress } from "../Net/ClientAddress.js"
import type { BandEntry, OrgSnapshot, RedirectKind } from "../ReadModel/Snapshot.js"
import type { TapRecord, UtmValues } from "../Taps/TapRecord.js"
import { TapRecorder } from "../Taps/TapRecorder.js"
import { Metrics } from "../Telemetry/Metrics.js"
import { AlwaysSample, traceparent } from "../Telemetry/Tracing.js"
import { RateLimits } from "./RateLimits.js"
import { RedirectStore } from "./RedirectStore.js"
import { headerValue, isBotAgent, truncateIp } from "./RequestDetails.js"
import { redirect, reject, safeDestination } from "./Responses.js"
import { type Coordinates, type Decision, resolve } from "./resolve.js"
import { MAX_USER_AGENT, type ParsedTap, parse } from "./TapQuery.js"

/*
 * GET|HEAD /e — DESIGN.md §3. A plain node:http handler built once from Effect services: a warm request
 * starts no fiber and reads no Redis; a cache miss awaits one round trip. The tap is handed to the
 * recorder (which journals it to disk) just before the 302 is written.
 */

const HIT = { result: "hit" } as const
const MISS = { result: "miss" } as const
const UNREACHABLE = { unreachable: true } as const
/** How many TAP_LOOKUP_TIMEOUTs a lookup may wait while Redis is visibly answering others. */
const LOOKUP_PATIENCE = 4
/** Above this share of busy time since a lookup was asked, the process, not Redis, is what is slow. */
const BUSY_LOOP = 0.5

export type HotPathHandler = (request: IncomingMessage, response: ServerResponse) => void

export class HotPath extends Context.Tag("@tapline/server/HotPath")<HotPath, HotPathHandler>() {}

export const make = Effect.gen(function* () {
  const store = yield* RedirectStore
  const recorder = yield* TapRecorder
  const limits = yield* RateLimits
  const config = yield* AppConfig
  const { server, taps } = config
  const tokens = yield* RegistrationTokens
  /** The hosted registration page; a page window's taps go to it with a token for the band appended. */
  const pageBase = new URL("/r/", publicOrigin(config)).href
  const tracer = yield* Effect.tracer
  const metrics = yield* Metrics
  const refuse = (
    response: ServerResponse,
    status: number,
    message: string,
    extra?: ReadonlyArray<string>
  ) => {
    metrics.redirectRejections.inc({ status })
    reject(response, status, message, extra)
  }
  const alwaysSample = Context.make(AlwaysSample, true)
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
    /** null: this process could not learn the band's entries (not the same as a band without any). */
    bands: ReadonlyArray<BandEntry> | null,
    allowAssignment: boolean
  ): Decision | null => {
    const decision = resolve({
      org,
      bands: bands ?? [],
      eventId: tap.eventId,
      now: Date.now(),
      tapper: coordinates(request),
      defaultUrl,
      allowAssignment
    })
    // A band that could not be looked up is not an unknown one: it does not count against the prober's limit.
    if (decision.bandId === null && bands !== null && !limits.unknownBand(ip)) {
      refuse(response, 429, "too many unknown bands", ["retry-after", "60"])
      return null
    }
    // The tap records the page without its token: the token is a credential for the band, for 30 minutes.
    const served =
      decision.page && decision.eventId !== null
        ? {
            kind: decision.kind,
            url: pageBase,
            location: pageBase + tokens.mint(decision.eventId, tap.bandUid, Date.now())
          }
        : servedDestination(org, decision, tap.utm)
    record(response, "location" in served ? served.location : served.url, request, tap, ip, {
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
    const bot = tap.head || (ua !== null && isBotAgent(ua))
    metrics.redirects.inc({ kind: served.kind })
    if (bot) metrics.botTaps.inc()
    recorder.record(
      {
        id: uuidv7(),
        ...served,
        bandUid: tap.bandUid,
        at: Date.now(),
        ua,
        ip: storedIp(ip),
        utm: tap.utm,
        bot,
        dup: false,
        ...(tap.trace === undefined ? {} : { trace: tap.trace })
      },
      () => guard(response, () => redirect(response, location))
    )
  }

  const degraded = (response: ServerResponse, request: IncomingMessage, tap: ParsedTap, ip: string) => {
    // The store cannot be read: what this process knew answers, even where a change has superseded it.
    const known = store.stale(tap.ref, tap.bandUid, UNREACHABLE)
    if (known.org === null) return unattributed(request, response, tap, ip)
    respond(request, response, tap, ip, known.org, known.bands, false)
  }

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return refuse(response, 405, "method not allowed", ["allow", "GET, HEAD"])
    }
    const parsed = parse(request.method, request.url ?? "", request.headers.host, tapDomain)
    if ("status" in parsed) return refuse(response, parsed.status, parsed.message)
    const ip = clientIp(request)
    if (!limits.request(ip)) return refuse(response, 429, "too many requests", ["retry-after", "60"])

    // Sampled here, by TAP_TRACE_RATIO or the caller's decision; the span is recorded whatever OTEL_TRACES_SAMPLER says.
    const trace = sampled(request)
    const span = Option.isSome(trace)
      ? tracer.span(
          "GET /e",
          Option.fromNullable(trace.value),
          alwaysSample,
          [],
          process.hrtime.bigint(),
          "server"
        )
      : undefined
    const tap = span === undefined ? parsed : { ...parsed, trace: traceparent(span) }

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
          respond(request, response, tap, ip, known.org, known.bands, false)
          return finish(known.org, null)
        }
      }
      if (org === null || (tap.orgId !== null && org.id !== tap.orgId)) {
        refuse(response, 404, "unknown organisation")
        return finish(null, null)
      }
      finish(org, respond(request, response, tap, ip, org, bands, true))
    }

    const found = store.lookup(tap.ref, tap.bandUid)
    if (!(found instanceof Promise)) {
      metrics.redirectLookups.inc(HIT)
      return answer(found.org, found.bands)
    }
    metrics.redirectLookups.inc(MISS)
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
    /*
     * The deadline measures Redis, not this process's own backlog (issue 27: a fresh process handed hundreds
     * of taps at once stalled its loop past the deadline, and taps whose replies had come went to the
     * website). When it expires, the fallback waits a step (setImmediate runs after the poll phase, where a
     * reply already received is read). And while the wait is visibly this process's own (its loop was busy
     * most of the time since the lookup was asked, or Redis has answered a lookup asked after this one), it
     * goes on, up to LOOKUP_PATIENCE deadlines; a Redis that is slow or gone leaves the loop idle.
     */
    const asked = performance.now()
    const loopAtAsk = performance.eventLoopUtilization()
    const ownWait = () =>
      store.answeredSince(asked) || performance.eventLoopUtilization(loopAtAsk).utilization > BUSY_LOOP
    const expire = () =>
      setImmediate(() => {
        if (answered) return
        if (performance.now() - asked < lookupTimeoutMs * LOOKUP_PATIENCE && ownWait()) {
          deadline = setTimeout(expire, lookupTimeoutMs / 4)
          return
        }
        fallBack()
      })
    let deadline = setTimeout(expire, lookupTimeoutMs)
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
