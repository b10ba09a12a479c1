import { describe, expect, it } from "@effect/vitest"
import type { EventSnapshot, OrgSnapshot, WindowSnapshot } from "../src/ReadModel/Snapshot.js"
import { truncateIp } from "../src/Redirect/RequestDetails.js"
import {
  type Decision,
  distanceMiles,
  type ResolveInput,
  rankEvents,
  resolve
} from "../src/Redirect/resolve.js"
import { parse, withUtm } from "../src/Redirect/TapQuery.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2026, 5, 1, 18, 0, 0)

const window = (
  id: string,
  type: WindowSnapshot["type"],
  startsAt: number,
  endsAt: number
): WindowSnapshot => ({
  id,
  type,
  url: `https://example.com/${id}`,
  startsAt,
  endsAt
})

const event = (id: string, overrides: Partial<EventSnapshot> = {}): EventSnapshot => ({
  id,
  scheduleMode: "scheduled",
  manualWindowId: null,
  fallbackUrl: `https://example.com/${id}/fallback`,
  assignOnFlag: false,
  latitude: 48.8566,
  longitude: 2.3522,
  startsAt: T0 - 2 * HOUR,
  endsAt: T0 + 6 * HOUR,
  windows: [
    window(`${id}-pre`, "PRE", T0 - 2 * HOUR, T0),
    window(`${id}-live`, "LIVE", T0, T0 + 3 * HOUR),
    window(`${id}-post`, "POST", T0 + 3 * HOUR, T0 + 6 * HOUR)
  ],
  ...overrides
})

const org = (
  events: ReadonlyArray<EventSnapshot>,
  websiteUrl: string | null = "https://org.example/"
): OrgSnapshot => ({
  id: "org",
  slug: "acme",
  websiteUrl,
  events,
  version: 1
})

const PARIS = { latitude: 48.8566, longitude: 2.3522 }
const LYON = { latitude: 45.764, longitude: 4.8357 } // ~244 miles from Paris
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 }

const input = (overrides: Partial<ResolveInput>): ResolveInput => ({
  org: org([event("e1")]),
  bands: [{ bandId: "b1", eventId: "e1", flagged: false }],
  eventId: null,
  now: T0,
  tapper: null,
  defaultUrl: "https://default.example/",
  allowAssignment: true,
  ...overrides
})

const pick = (d: Decision) => ({ kind: d.kind, url: d.url, mode: d.mode, eventId: d.eventId })

describe("resolve: the destination of a known band (DESIGN.md §3)", () => {
  const cases: ReadonlyArray<[string, Partial<ResolveInput>, ReturnType<typeof pick>]> = [
    [
      "the last millisecond before a boundary is still the earlier window",
      { now: T0 - 1 },
      { kind: "WINDOW", url: "https://example.com/e1-pre", mode: "PRE", eventId: "e1" }
    ],
    [
      "the boundary instant itself belongs to the later window ([start, end))",
      { now: T0 },
      { kind: "WINDOW", url: "https://example.com/e1-live", mode: "LIVE", eventId: "e1" }
    ],
    [
      "the last window's end is exclusive: past it comes the fallback",
      { now: T0 + 6 * HOUR },
      { kind: "FALLBACK", url: "https://example.com/e1/fallback", mode: null, eventId: "e1" }
    ],
    [
      "manual mode uses the chosen window whatever the time",
      { org: org([event("e1", { scheduleMode: "manual", manualWindowId: "e1-post" })]), now: T0 - HOUR },
      { kind: "WINDOW", url: "https://example.com/e1-post", mode: "POST", eventId: "e1" }
    ],
    [
      "manual mode without a chosen window falls back",
      { org: org([event("e1", { scheduleMode: "manual", manualWindowId: null })]) },
      { kind: "FALLBACK", url: "https://example.com/e1/fallback", mode: null, eventId: "e1" }
    ],
    [
      "no window and no fallback: the organisation website",
      { org: org([event("e1", { windows: [], fallbackUrl: null })]) },
      { kind: "ORG", url: "https://org.example/", mode: null, eventId: "e1" }
    ],
    [
      "no window, no fallback, no website: the platform default",
      { org: org([event("e1", { windows: [], fallbackUrl: null })], null) },
      { kind: "DEFAULT", url: "https://default.example/", mode: null, eventId: "e1" }
    ],
    [
      "an event that is not ACTIVE (absent from the snapshot) sends the band to the website",
      { org: org([]) },
      { kind: "ORG", url: "https://org.example/", mode: null, eventId: "e1" }
    ],
    [
      "a flagged band goes to the website",
      { bands: [{ bandId: "b1", eventId: "e1", flagged: true }] },
      { kind: "ORG", url: "https://org.example/", mode: null, eventId: "e1" }
    ],
    [
      "a flagged band of an event with assign_on_flag gets the event's destination",
      {
        org: org([event("e1", { assignOnFlag: true })]),
        bands: [{ bandId: "b1", eventId: "e1", flagged: true }]
      },
      { kind: "WINDOW", url: "https://example.com/e1-live", mode: "LIVE", eventId: "e1" }
    ]
  ]
  for (const [name, overrides, expected] of cases) {
    it(name, () => expect(pick(resolve(input(overrides)))).toEqual(expected))
  }

  it("a band in several events follows the event closest in date", () => {
    const today = event("today")
    const nextWeek = event("next-week", {
      startsAt: T0 + 7 * DAY,
      endsAt: T0 + 7 * DAY + HOUR,
      windows: [window("nw-pre", "PRE", T0 + 6 * DAY, T0 + 7 * DAY)]
    })
    const decision = resolve(
      input({
        org: org([nextWeek, today]),
        bands: [
          { bandId: "b-next", eventId: "next-week", flagged: false },
          { bandId: "b-today", eventId: "today", flagged: false }
        ]
      })
    )
    expect(decision).toMatchObject({ eventId: "today", bandId: "b-today", kind: "WINDOW", mode: "LIVE" })
  })

  it("with eventId in the URL only that event's band counts", () => {
    const decision = resolve(
      input({
        org: org([event("e1"), event("e2")]),
        bands: [
          { bandId: "b1", eventId: "e1", flagged: false },
          { bandId: "b2", eventId: "e2", flagged: false }
        ],
        eventId: "e2"
      })
    )
    expect(decision).toMatchObject({ eventId: "e2", bandId: "b2" })
  })
})

describe("resolve: auto-assignment of an unknown band", () => {
  it("goes to the organisation's ACTIVE event and is recorded for creation", () => {
    const decision = resolve(input({ bands: [] }))
    expect(decision).toMatchObject({ kind: "WINDOW", eventId: "e1", bandId: null })
    expect(decision.assignment).toEqual({
      eventId: "e1",
      distanceMiles: null,
      flagged: false,
      flagReason: null
    })
  })

  it("with no ACTIVE event goes to the website, unassigned", () => {
    expect(resolve(input({ bands: [], org: org([]) }))).toMatchObject({ kind: "ORG", assignment: null })
  })

  it("ties on the date are broken by distance from the tapper, then by the next window", () => {
    const paris = event("paris")
    const lyon = event("lyon", { latitude: LYON.latitude, longitude: LYON.longitude })
    expect(rankEvents([paris, lyon], T0, LYON).map((e) => e.id)).toEqual(["lyon", "paris"])
    expect(rankEvents([lyon, paris], T0, PARIS).map((e) => e.id)).toEqual(["paris", "lyon"])
    const early = event("b-early", { windows: [window("x", "LIVE", T0 + HOUR, T0 + 2 * HOUR)] })
    const late = event("a-late", { windows: [window("y", "LIVE", T0 + 2 * HOUR, T0 + 3 * HOUR)] })
    expect(rankEvents([late, early], T0, null).map((e) => e.id)).toEqual(["b-early", "a-late"])
  })

  it("a band tapped more than 500 miles away within a day of the event is flagged and sent to the website", () => {
    const decision = resolve(input({ bands: [], tapper: NEW_YORK }))
    expect(decision.kind).toBe("ORG")
    expect(decision.assignment).toMatchObject({ eventId: "e1", flagged: true })
    expect(decision.assignment?.distanceMiles).toBeGreaterThan(3000)
  })

  it("within a day of the event 244 miles is fine; further from its dates the limit is 100 miles", () => {
    expect(resolve(input({ bands: [], tapper: LYON })).assignment?.flagged).toBe(false)
    const later = resolve(input({ bands: [], tapper: LYON, now: T0 + 6 * HOUR + 2 * DAY }))
    expect(later.assignment?.flagged).toBe(true)
    expect(later.assignment?.flagReason).toContain("limit 100")
  })

  it("a flagged assignment to an event with assign_on_flag still gets the event's destination", () => {
    const decision = resolve(
      input({ bands: [], tapper: NEW_YORK, org: org([event("e1", { assignOnFlag: true })]) })
    )
    expect(decision).toMatchObject({ kind: "WINDOW", mode: "LIVE" })
    expect(decision.assignment?.flagged).toBe(true)
  })

  it("is not made while the read model is unreachable: the band goes to the website", () => {
    expect(resolve(input({ bands: [], allowAssignment: false }))).toMatchObject({
      kind: "ORG",
      assignment: null
    })
  })

  it("measures distance on the sphere", () => {
    expect(distanceMiles(PARIS, LYON)).toBeGreaterThan(240)
    expect(distanceMiles(PARIS, LYON)).toBeLessThan(250)
  })
})

describe("request parsing", () => {
  const ok = (url: string, host = "acme.tap.example") => parse("GET", url, host, "tap.example")

  it("takes the organisation from the Host's first label under the tap domain", () => {
    expect(ok("/e?bandId=B-1")).toMatchObject({ bandUid: "B-1", ref: { _tag: "slug", slug: "acme" } })
    expect(ok("/e?bandId=B-1", "ACME.tap.example:8443")).toMatchObject({
      ref: { _tag: "slug", slug: "acme" }
    })
  })

  it("accepts the eventId/orgId form", () => {
    const id = "01900000-0000-7000-8000-000000000001"
    expect(ok(`/e?bandId=B&eventId=${id}`, "other.host")).toMatchObject({
      ref: { _tag: "event", eventId: id }
    })
    expect(ok(`/e?bandId=B&orgId=${id}`, "other.host")).toMatchObject({ ref: { _tag: "org", orgId: id } })
  })

  const rejected: ReadonlyArray<[string, string | undefined, number]> = [
    ["/e", "acme.tap.example", 400],
    ["/e?bandId=", "acme.tap.example", 400],
    [`/e?bandId=${"A".repeat(65)}`, "acme.tap.example", 400],
    ["/e?bandId=caf%C3%A9", "acme.tap.example", 400],
    ["/e?bandId=%E2%9C%93", "acme.tap.example", 400],
    ["/e?bandId=a%20b", "acme.tap.example", 400],
    ["/e?bandId=A&bandId=B", "acme.tap.example", 400],
    ["/e?bandId=A&eventId=not-a-uuid", "acme.tap.example", 400],
    [`/e?bandId=A&utm_source=${"x".repeat(300)}`, "acme.tap.example", 400],
    ["/e?bandId=A", "tap.example", 404],
    ["/e?bandId=A", "a.b.tap.example", 404],
    ["/e?bandId=A", "evil.example", 404],
    ["/e?bandId=A", undefined, 404]
  ]
  for (const [url, host, status] of rejected) {
    it(`${url.slice(0, 60)} on ${host} answers ${status}`, () => {
      expect(parse("GET", url, host, "tap.example")).toMatchObject({ status })
    })
  }

  it("HEAD is marked so the tap is never counted", () => {
    expect(parse("HEAD", "/e?bandId=B", "acme.tap.example", "tap.example")).toMatchObject({ head: true })
  })
})

describe("UTM copy-through", () => {
  it("sets the tap's utm values on the destination, replacing existing ones and keeping the rest", () => {
    const url = withUtm("https://example.com/live?utm_source=old&ref=band#top", {
      source: "nfc",
      campaign: "tour"
    })
    const parsed = new URL(url)
    expect(parsed.searchParams.get("utm_source")).toBe("nfc")
    expect(parsed.searchParams.get("utm_campaign")).toBe("tour")
    expect(parsed.searchParams.get("ref")).toBe("band")
    expect(parsed.hash).toBe("#top")
  })

  it("leaves the destination untouched without utm values", () => {
    expect(withUtm("https://example.com/live?utm_source=old", null)).toBe(
      "https://example.com/live?utm_source=old"
    )
  })
})

describe("client address storage", () => {
  it("truncates IPv4 to /24 and IPv6 to /48", () => {
    expect(truncateIp("203.0.113.77")).toBe("203.0.113.0")
    expect(truncateIp("2001:db8:85a3:8d3:1319:8a2e:370:7348")).toBe("2001:db8:85a3::")
  })
})
