import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import * as PageToken from "../src/Crypto/PageToken.js"
import type { EventSnapshot, OrgSnapshot, WindowSnapshot } from "../src/ReadModel/Snapshot.js"
import { type ResolveInput, resolve } from "../src/Redirect/resolve.js"

/*
 * The registration page's pure rules: which taps `resolve` sends to the page (a REGISTRATION_PAGE window), and
 * the page token the redirect mints (what it binds, when it expires, what a forgery looks like).
 */

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 5, 1, 18, 0, 0)
const EVENT = "0190b5a0-0000-7000-8000-0000000000e1"

const window = (id: string, startsAt: number, endsAt: number, page?: boolean): WindowSnapshot => ({
  id,
  type: "LIVE",
  url: `https://example.com/${id}`,
  ...(page === undefined ? {} : { page }),
  startsAt,
  endsAt
})

const event = (overrides: Partial<EventSnapshot> = {}): EventSnapshot => ({
  id: EVENT,
  scheduleMode: "scheduled",
  manualWindowId: null,
  fallbackUrl: "https://example.com/fallback",
  assignOnFlag: false,
  latitude: null,
  longitude: null,
  startsAt: T0 - 2 * HOUR,
  endsAt: T0 + 2 * HOUR,
  windows: [window("pre", T0 - 2 * HOUR, T0, false), window("register", T0, T0 + HOUR, true)],
  ...overrides
})

const org = (events: ReadonlyArray<EventSnapshot>): OrgSnapshot => ({
  id: "org",
  slug: "acme",
  websiteUrl: "https://org.example/",
  events,
  version: 1
})

const input = (overrides: Partial<ResolveInput>): ResolveInput => ({
  org: org([event()]),
  bands: [{ bandId: "b1", eventId: EVENT, flagged: false }],
  eventId: null,
  now: T0,
  tapper: null,
  defaultUrl: "https://default.example/",
  allowAssignment: true,
  ...overrides
})

describe("resolve: windows that send taps to the registration page", () => {
  const cases: ReadonlyArray<[string, Partial<ResolveInput>, { kind: string; page: boolean; url: string }]> =
    [
      [
        "a tap inside a page window goes to the page",
        {},
        { kind: "WINDOW", page: true, url: "https://example.com/register" }
      ],
      [
        "a URL window just before it does not",
        { now: T0 - 1 },
        { kind: "WINDOW", page: false, url: "https://example.com/pre" }
      ],
      [
        "past the page window the fallback is no page",
        { now: T0 + HOUR },
        { kind: "FALLBACK", page: false, url: "https://example.com/fallback" }
      ],
      [
        "manual mode on the page window sends there whatever the time",
        { org: org([event({ scheduleMode: "manual", manualWindowId: "register" })]), now: T0 - HOUR },
        { kind: "WINDOW", page: true, url: "https://example.com/register" }
      ],
      [
        "a flagged band goes to the website, not the page",
        { bands: [{ bandId: "b1", eventId: EVENT, flagged: true }] },
        { kind: "ORG", page: false, url: "https://org.example/" }
      ],
      [
        "an unknown band auto-assigned to the event goes to the page too",
        { bands: [] },
        { kind: "WINDOW", page: true, url: "https://example.com/register" }
      ],
      [
        "a snapshot written before the page existed (no `page`) is a URL window",
        { org: org([event({ windows: [window("old", T0, T0 + HOUR)] })]) },
        { kind: "WINDOW", page: false, url: "https://example.com/old" }
      ]
    ]
  for (const [name, overrides, expected] of cases) {
    it(name, () => {
      const decision = resolve(input(overrides))
      expect({ kind: decision.kind, page: decision.page, url: decision.url }).toEqual(expected)
    })
  }
})

describe("the page token", () => {
  const key = Buffer.alloc(32, 7)
  const tokens = PageToken.make(key, Duration.minutes(30))

  it("binds the event and the band's uid until it expires", () => {
    const token = tokens.mint(EVENT, "BAND-0001", T0)
    expect(token).toMatch(/^[0-9a-f-]{36}\.BAND-0001\.[0-9a-z]+\.[A-Za-z0-9_-]{32}$/)
    const checked = tokens.check(token, T0 + 29 * 60_000)
    expect(checked).toEqual({
      ok: true,
      claim: { eventId: EVENT, bandUid: "BAND-0001", expiresAt: T0 + 30 * 60_000 }
    })
    expect(tokens.check(token, T0 + 30 * 60_000)).toEqual({ ok: false, reason: "expired" })
  })

  it("refuses a token whose band, event or expiry was changed, or made with another key", () => {
    const token = tokens.mint(EVENT, "BAND-0001", T0)
    const [eventId, , expiry, mac] = token.split(".")
    const now = T0 + 60_000
    expect(tokens.check(`${eventId}.BAND-0002.${expiry}.${mac}`, now)).toEqual({
      ok: false,
      reason: "forged"
    })
    expect(tokens.check(`${EVENT.replace("e1", "e2")}.BAND-0001.${expiry}.${mac}`, now).ok).toBe(false)
    const later = (Number.parseInt(expiry!, 36) + 3600).toString(36)
    expect(tokens.check(`${eventId}.BAND-0001.${later}.${mac}`, now)).toEqual({ ok: false, reason: "forged" })
    const other = PageToken.make(Buffer.alloc(32, 8), Duration.minutes(30))
    expect(other.check(token, now)).toEqual({ ok: false, reason: "forged" })
  })

  it("answers missing and malformed tokens as such, never throwing", () => {
    expect(tokens.check(undefined, T0)).toEqual({ ok: false, reason: "missing" })
    expect(tokens.check("", T0)).toEqual({ ok: false, reason: "missing" })
    for (const bad of [
      "x",
      "a.b.c.d",
      `${EVENT}.B\u0000.1.${"a".repeat(32)}`,
      `${EVENT}.B.1.${"a".repeat(31)}`,
      "é".repeat(300)
    ])
      expect(tokens.check(bad, T0)).toEqual({ ok: false, reason: "malformed" })
  })

  it("a CSRF token holds only with the page token and the cookie's nonce it was made for", () => {
    const token = tokens.mint(EVENT, "BAND-0001", T0)
    const nonce = tokens.nonce()
    const csrf = tokens.csrf(token, nonce)
    expect(tokens.checkCsrf(token, nonce, csrf)).toBe(true)
    expect(tokens.checkCsrf(token, undefined, csrf)).toBe(false)
    expect(tokens.checkCsrf(token, tokens.nonce(), csrf)).toBe(false)
    expect(tokens.checkCsrf(tokens.mint(EVENT, "BAND-0002", T0), nonce, csrf)).toBe(false)
    expect(tokens.checkCsrf(token, nonce, undefined)).toBe(false)
  })
})
