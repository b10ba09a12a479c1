import { describe, expect, it } from "@effect/vitest"
import type { JourneyId, OrganizationId } from "@tapline/domain"
import type { TriggerJourney } from "../src/Journeys/JourneyMessageRepository.js"
import { deferred } from "../src/Journeys/QuietHours.js"
import * as Templates from "../src/Journeys/Templates.js"
import { fromTaps } from "../src/Journeys/Triggers.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"

/* The journeys' pure rules: templates, quiet hours, which taps start which messages. */

const values: Templates.Values = {
  name: "Ada <script>",
  event: "Rock & Roll",
  windowUrl: "https://x.example/?a=1&b=2",
  unsubscribeUrl: "https://t.example/u/abc"
}

describe("journey templates", () => {
  it("fills the four variables, escapes them and the text in the HTML part, keeps the subject one line", () => {
    const out = Templates.render(
      "Hi {{ name }}\r\n at {{event}}",
      "<b>{{name}}</b> {{windowUrl}}\n{{unsubscribeUrl}}",
      {
        ...values,
        name: "Ada\nLovelace"
      }
    )
    expect(out.subject).toBe("Hi Ada Lovelace  at Rock & Roll")
    expect(out.text).toBe("<b>Ada\nLovelace</b> https://x.example/?a=1&b=2\nhttps://t.example/u/abc")
    const html = Templates.render("s", "<b>{{name}}</b> {{windowUrl}}", values).html
    expect(html).toContain("&lt;b&gt;Ada &lt;script&gt;&lt;/b&gt; https://x.example/?a=1&amp;b=2")
    expect(html).not.toContain("<script>")
  })

  it("refuses unknown variables and an unclosed {{, naming the field; accepts the known ones", () => {
    expect(Templates.problem("body", "Hi {{name}} {{unsubscribeUrl}}")).toBeUndefined()
    expect(Templates.problem("body", "Hi {{firstName}} {{constructor}}")).toMatch(
      /^body: unknown variable \{\{firstName\}\}, \{\{constructor\}\}/
    )
    expect(Templates.problem("subject", "Hi {{name")).toMatch(/^subject: /)
    expect(Templates.problem("subject", "Hi {{ }}")).toMatch(/^subject: /)
  })
})

describe("quiet hours", () => {
  const lisbon = { start: "22:00:00", end: "08:00:00", timezone: "Europe/Lisbon" }
  it.each([
    ["none", "2026-07-01T23:30:00Z", null, "2026-07-01T23:30:00Z"],
    ["outside", "2026-07-01T12:00:00Z", lisbon, "2026-07-01T12:00:00Z"],
    // 23:30 in Lisbon (summer, UTC+1) → 08:00 the next morning, 07:00 UTC.
    ["late evening, spans midnight", "2026-07-01T22:30:00Z", lisbon, "2026-07-02T07:00:00Z"],
    ["after midnight", "2026-07-02T02:00:00Z", lisbon, "2026-07-02T07:00:00Z"],
    ["at the end", "2026-07-02T07:00:00Z", lisbon, "2026-07-02T07:00:00Z"],
    [
      "same-day hours",
      "2026-01-10T13:30:00Z",
      { start: "13:00", end: "15:00", timezone: "UTC" },
      "2026-01-10T15:00:00Z"
    ],
    [
      "start equals end: none",
      "2026-01-10T13:30:00Z",
      { start: "13:00", end: "13:00", timezone: "UTC" },
      "2026-01-10T13:30:00Z"
    ]
  ] as const)("%s", (_, due, quiet, expected) => {
    expect(deferred(new Date(due), quiet).toISOString()).toBe(new Date(expected).toISOString())
  })
})

describe("tap triggers", () => {
  const org = "0190b5a0-0000-7000-8000-00000000000a" as OrganizationId
  const journey = (id: string, trigger: string, windowType: string | null = null): TriggerJourney => ({
    id: id as JourneyId,
    organizationId: org,
    eventId: "ev",
    trigger,
    windowType,
    delayMinutes: 10,
    createdAt: new Date(1_000),
    timezone: "UTC",
    quietStart: null,
    quietEnd: null
  })
  const tap = (bandId: string | null, at: number, extra: Partial<TapRecord> = {}): TapRecord => ({
    id: `t${at}`,
    orgId: org,
    eventId: "ev",
    bandId,
    bandUid: "B",
    windowId: "w",
    mode: "LIVE",
    kind: "WINDOW",
    url: "https://live.example/",
    at,
    ua: null,
    ip: null,
    utm: null,
    bot: false,
    dup: false,
    assign: null,
    ...extra
  })

  it("one message per (journey, band) in a batch, for registered bands, real taps after the journey was made", () => {
    const journeys = [journey("j1", "first_tap"), journey("j2", "window_tap", "POST")]
    const messages = fromTaps(
      [
        tap("b1", 2_000),
        tap("b1", 3_000),
        tap("b2", 2_000, { bot: true }),
        tap("b3", 500),
        tap("b4", 2_000),
        tap(null, 2_000),
        tap("b5", 2_000, { mode: "POST" })
      ],
      journeys,
      new Set(["b1", "b2", "b3", "b5"])
    )
    expect(messages.map((m) => `${m.journeyId} ${m.bandId}`).sort()).toEqual(["j1 b1", "j1 b5", "j2 b5"])
    const first = messages.find((m) => m.bandId === "b1")!
    expect(first.dueAt.getTime()).toBe(2_000 + 10 * 60_000)
    expect(first.windowUrl).toBe("https://live.example/")
    expect(new Set(messages.map((m) => m.unsubscribeToken)).size).toBe(3)
  })
})
