import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { DEMO_EVENT_NAME, seedDemo } from "../src/Demo/DemoSeed.js"
import { Jobs } from "../src/Jobs/Jobs.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"
import { TapStore } from "../src/Taps/TapStore.js"
import { bootstrapKey, call, createTenant, ok, type Reply } from "./support/AdminClient.js"
import { AdminServer, adminHarness } from "./support/AdminHarness.js"
import {
  type AiPeer,
  type PeerKind,
  type PeerReply,
  type PeerRequest,
  startAiPeer,
  toolResultsIn
} from "./support/AiPeers.js"

/*
 * Issue 35's recap over HTTP, against loopback peers speaking each provider's wire format
 * (support/AiPeers.ts). Each peer plays a model that calls the recap's tools, then writes from the results it
 * was sent back: the numbers a grounded recap must carry. The demo event (DemoSeed) gets taps, rolled up as
 * the dashboard reads them; registrants with names, emails and phones sit on its bands, and no request to
 * any provider may carry them.
 */

const KEYS = { openai: "sk-test-openai-0001", anthropic: "sk-ant-test-0002", gemini: "AIza-test-gemini-0003" }
const REGISTRANTS = [
  { name: "Ada Lovelace", email: "ada.lovelace@example.com", phone: "+447911123456" },
  { name: "Grace Hopper", email: "grace.hopper@example.com", phone: "+447911123457" }
]

class Peers extends Context.Tag("test/RecapPeers")<Peers, Record<PeerKind, AiPeer>>() {}

/** The admin harness with the three providers configured, in AI_PROVIDERS order, on loopback peers. */
const harness = Layer.unwrapScoped(
  Effect.gen(function* () {
    const start = (kind: PeerKind) =>
      Effect.acquireRelease(
        Effect.promise(() => startAiPeer(kind)),
        (peer) => Effect.promise(() => peer.close())
      )
    const peers = {
      openai: yield* start("openai"),
      anthropic: yield* start("anthropic"),
      gemini: yield* start("gemini")
    }
    return adminHarness({
      AI_PROVIDERS: "openai,anthropic,gemini",
      OPENAI_API_KEY: KEYS.openai,
      OPENAI_API_URL: peers.openai.baseUrl,
      ANTHROPIC_API_KEY: KEYS.anthropic,
      ANTHROPIC_API_URL: peers.anthropic.baseUrl,
      GEMINI_API_KEY: KEYS.gemini,
      GEMINI_API_URL: peers.gemini.baseUrl,
      AI_TIMEOUT: "20 seconds",
      AI_PRICES: JSON.stringify({ "openai:gpt-4o-mini": { input: 0.15, output: 0.6 } })
    }).pipe(Layer.merge(Layer.succeed(Peers, peers)))
  })
)

// biome-ignore lint/suspicious/noExplicitAny: tool results as the peer received them.
type Results = Record<string, any>

const busiest = (points: ReadonlyArray<{ at: string; taps: number }>) =>
  points.reduce((best, point) => (point.taps > best.taps ? point : best))

/** The recap a faithful model writes from the summary and windows it was given; `offset` skews one figure. */
const recapText = (results: Results, offset: number) => {
  const s = results.summary
  const lines = [
    `# ${s.subject.name}: the recap`,
    "",
    `${s.totalTaps + offset} taps by people from ${s.uniqueBands} bands; ${s.repeatBands} bands came back.`,
    `Engagement reached ${(s.engagement * 100).toFixed(1)}% of the expected crowd, ${s.averageTapsPerBand} taps per band.`,
    `The peak minute was ${s.peakMinute.at} with ${s.peakMinute.taps} taps.`,
    "",
    "## Windows",
    ...results.windows.map(
      (w: { title: string; taps: number; share: number }) =>
        `- **${w.title}**: ${w.taps} taps (${(w.share * 100).toFixed(1)}%)`
    ),
    ...(results.timeseries === undefined
      ? []
      : [
          "",
          `The busiest ${results.timeseries.bucket} began at ${busiest(results.timeseries.points).at}, with ${busiest(results.timeseries.points).taps} taps.`
        ]),
    ...(results.activations === undefined
      ? []
      : [
          "",
          "## Sponsors",
          ...results.activations.map(
            (a: { name: string; taps: number; uniqueBands: number }) =>
              `- ${a.name}: ${a.taps} taps from ${a.uniqueBands} bands`
          )
        ])
  ]
  return lines.join("\n")
}

/** The tools a model calls, in order, before it writes: a name and its arguments. */
const BASIC = [
  ["summary", {}],
  ["windows", {}]
] as const satisfies ReadonlyArray<readonly [string, object]>

/**
 * A model on one peer: each tool of `tools` in turn, then the text. `offsetFor(n)` skews the text of the
 * n-th conversation (1, 2…): a scripted wrong number.
 */
const writer = (
  kind: PeerKind,
  offsetFor: (conversation: number) => number = () => 0,
  tools: ReadonlyArray<readonly [string, object]> = BASIC
) => {
  let conversations = 0
  return (request: PeerRequest): PeerReply => {
    const results: Results = Object.fromEntries(
      toolResultsIn(kind, request.body).map((r) => [
        r.id.replace(/^call_/, "").replace(/_\d+$/, ""),
        r.output
      ])
    )
    const next = tools.find(([name]) => !(name in results))
    if (next !== undefined) {
      if (next === tools[0]) conversations++
      const [name, args] = next
      return { toolCall: { id: `call_${name}_${conversations}`, name, args: { ...args } } }
    }
    return { text: recapText(results, offsetFor(conversations)), usage: { input: 900, output: 150 } }
  }
}

const MINUTE = 60_000

/**
 * The demo event with taps: 120 bands in the live hour, the first 40 twice; an EDITOR, OWNER, VIEWER key.
 * Seeded once per file: the seed re-creates the windows, and the taps name the first ones.
 */
const demo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const seeded = yield* seedDemo
  const admin = yield* bootstrapKey(`recaps-${process.pid}@example.com`)
  const key = (role: string) =>
    call("POST", `/api/v1/organizations/${seeded.organizationId}/api-keys`, {
      key: admin,
      body: { name: `recaps-${role.toLowerCase()}`, role }
    }).pipe(
      Effect.flatMap((reply) => ok(reply, 201)),
      Effect.map((reply) => reply.body.secret as string)
    )
  const keys = { OWNER: yield* key("OWNER"), EDITOR: yield* key("EDITOR"), VIEWER: yield* key("VIEWER") }
  const base = `/api/v1/organizations/${seeded.organizationId}`
  const [live] = yield* sql<{ id: string; startsAt: Date }>`
    select id, starts_at from windows where event_id = ${seeded.eventId} and type = 'LIVE'`
  const bands = yield* sql<{ id: string; bandUid: string }>`
    select id, band_uid from bands where event_id = ${seeded.eventId} order by band_uid limit 120`
  const [already] = yield* sql<{
    n: string
  }>`select count(*) as n from taps where event_id = ${seeded.eventId}`
  if (Number(already!.n) === 0) {
    let n = 0
    const tap = (band: { id: string; bandUid: string }, at: number): TapRecord => ({
      id: `01a3${(++n).toString(16).padStart(4, "0")}-0000-7000-8000-${n.toString(16).padStart(12, "0")}`,
      orgId: seeded.organizationId,
      eventId: seeded.eventId,
      bandId: band.id,
      bandUid: band.bandUid,
      windowId: live!.id,
      mode: "LIVE",
      kind: "WINDOW",
      url: "https://example.com/demo/live",
      at,
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
      ip: null,
      utm: null,
      bot: false,
      dup: false,
      assign: null
    })
    const start = live!.startsAt.getTime()
    const taps = bands.flatMap((band, i) => [
      tap(band, start + (i % 30) * MINUTE + 1_000),
      ...(i < 40 ? [tap(band, start + 45 * MINUTE + i * 1_000)] : [])
    ])
    yield* Effect.flatMap(TapStore, (store) => store.store(taps)).pipe(Effect.provide(TapStore.Default))
  }
  const [people] = yield* sql<{ n: string }>`
    select count(*) as n from registrants where organization_id = ${seeded.organizationId}`
  if (Number(people!.n) === 0) {
    for (const [i, person] of REGISTRANTS.entries()) {
      yield* ok(
        yield* call("POST", `${base}/registrants`, {
          key: keys.EDITOR,
          body: { bandId: bands[i]!.id, ...person }
        }),
        201
      )
    }
  }
  // The dashboard's figures come from the rollups: wait for them, and keep them to compare.
  yield* (yield* Jobs).enqueue("analytics.rollup", {})
  const summaryPath = `${base}/analytics/events/${seeded.eventId}/summary`
  let summary = yield* call("GET", summaryPath, { key: keys.VIEWER })
  for (const deadline = Date.now() + 30_000; summary.body.totalTaps !== 160 && Date.now() < deadline; ) {
    yield* Effect.sleep("200 millis")
    summary = yield* call("GET", summaryPath, { key: keys.VIEWER })
  }
  expect(summary.body.totalTaps).toBe(160)
  return { ...seeded, keys, base, summary: summary.body }
})
const demoEvent = Effect.runSync(Effect.cached(demo))

const resetPeers = Effect.map(Peers, (peers) => {
  for (const peer of Object.values(peers)) peer.reset()
  return peers
})

/** Every byte sent to any provider, to look for what must never leave. */
const sentToProviders = (peers: Record<PeerKind, AiPeer>) =>
  Object.values(peers)
    .flatMap((peer) => peer.requests.map((r) => JSON.stringify(r.body)))
    .join("\n")

const expectNoRegistrantData = (sent: string) => {
  for (const person of REGISTRANTS) {
    for (const value of [person.name, person.email, person.phone, person.phone.slice(1)]) {
      expect(sent).not.toContain(value)
    }
  }
}

/** The SSE messages of a response body, in order. */
const messagesOf = (reply: Reply) =>
  reply.text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1],
      data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null")
    }))

layer(harness, { excludeTestServices: true, timeout: 120_000 })("AI recaps", (it) => {
  it.effect(
    "the demo event's recap from each provider in AI_PROVIDERS order, every number grounded, no registrant sent",
    () =>
      Effect.gen(function* () {
        const peers = yield* resetPeers
        const event = yield* demoEvent
        for (const kind of ["openai", "anthropic", "gemini"] as const) peers[kind].answerWith(writer(kind))
        const create = () =>
          call("POST", `${event.base}/recaps`, { key: event.keys.EDITOR, body: { eventId: event.eventId } })

        const byOpenAi = yield* ok(yield* create(), 201)
        // OpenAI refuses for now (429): Anthropic writes it. OpenAI and Anthropic down (5xx): Gemini does.
        peers.openai.script({ status: 429, headers: { "retry-after": "1" } })
        const byAnthropic = yield* ok(yield* create(), 201)
        peers.openai.script({ status: 503 })
        peers.anthropic.script({ status: 500 })
        const byGemini = yield* ok(yield* create(), 201)

        const s = event.summary
        for (const [reply, provider] of [
          [byOpenAi, "openai"],
          [byAnthropic, "anthropic"],
          [byGemini, "gemini"]
        ] as const) {
          const recap = reply.body
          console.log(`recap by ${provider}:\n${recap.text}\n`)
          expect(recap.provider).toBe(provider)
          expect(recap.grounding).toEqual({ grounded: true, regenerated: false, unmatched: [] })
          expect(recap.subject).toEqual({ type: "event", id: event.eventId, name: DEMO_EVENT_NAME })
          expect(recap.text).toContain(`${s.totalTaps} taps by people from ${s.uniqueBands} bands`)
          expect(recap.text).not.toContain("[unverified]")
          expect(recap.toolCalls.map((c: { name: string }) => c.name)).toEqual(["summary", "windows"])
          expect(recap.toolCalls[0].result).toMatchObject({
            totalTaps: s.totalTaps,
            uniqueBands: s.uniqueBands,
            repeatBands: s.repeatBands
          })
        }
        // Each provider was sent the tools, and the event's name: never a registrant's name, email or phone.
        expect(JSON.stringify(peers.gemini.requests[0]!.body.tools)).toContain("summary")
        expectNoRegistrantData(sentToProviders(peers))

        const usage = yield* call("GET", `${event.base}/ai/usage`, { key: event.keys.VIEWER })
        expect(usage.body.providers.map((p: { provider: string }) => p.provider).sort()).toEqual([
          "anthropic",
          "gemini",
          "openai"
        ])
        const audit = yield* call("GET", `${event.base}/audit?limit=100`, { key: event.keys.OWNER })
        const actions = audit.body.items.map((e: { action: string }) => e.action)
        expect(actions.filter((a: string) => a === "recap.created").length).toBeGreaterThanOrEqual(3)
        expect(actions.filter((a: string) => a === "ai.generated").length).toBeGreaterThanOrEqual(3)

        const list = yield* call("GET", `${event.base}/recaps`, { key: event.keys.VIEWER })
        expect(list.body.items.slice(0, 3).map((r: { provider: string }) => r.provider)).toEqual([
          "gemini",
          "anthropic",
          "openai"
        ])
      })
  )

  it.effect("a campaign's recap and the organisation's over a range, from all four tools", () =>
    Effect.gen(function* () {
      const peers = yield* resetPeers
      const event = yield* demoEvent
      const tools = [...BASIC, ["timeseries", { bucket: "hour" }], ["activations", {}]] as const
      peers.openai.answerWith(writer("openai", () => 0, tools))
      const sql = yield* SqlClient.SqlClient
      const [live] = yield* sql<{ id: string; startsAt: Date; endsAt: Date }>`
        select id, starts_at, ends_at from windows where event_id = ${event.eventId} and type = 'LIVE'`
      yield* ok(
        yield* call("POST", `${event.base}/activations`, {
          key: event.keys.EDITOR,
          body: {
            name: "Main stage sponsor",
            windowIds: [live!.id],
            startsAt: live!.startsAt.toISOString(),
            endsAt: live!.endsAt.toISOString()
          }
        }),
        201
      )
      const campaign = yield* ok(
        yield* call("POST", `${event.base}/campaigns`, {
          key: event.keys.EDITOR,
          body: { name: "Summer tour" }
        }),
        201
      )
      yield* ok(
        yield* call("PATCH", `${event.base}/events/${event.eventId}`, {
          key: event.keys.EDITOR,
          body: { campaignId: campaign.body.id }
        }),
        200
      )
      const byCampaign = yield* ok(
        yield* call("POST", `${event.base}/recaps`, {
          key: event.keys.EDITOR,
          body: { campaignId: campaign.body.id }
        }),
        201
      )
      const day = 24 * 3_600_000
      const range = {
        from: new Date(Date.now() - 2 * day).toISOString(),
        to: new Date(Date.now() + day).toISOString()
      }
      const byRange = yield* ok(
        yield* call("POST", `${event.base}/recaps`, { key: event.keys.EDITOR, body: range }),
        201
      )
      for (const recap of [byCampaign.body, byRange.body]) {
        console.log(`recap of the ${recap.subject.type}:\n${recap.text}\n`)
        expect(recap.grounding).toEqual({ grounded: true, regenerated: false, unmatched: [] })
        expect(recap.toolCalls.map((c: { name: string }) => c.name)).toEqual([
          "summary",
          "windows",
          "timeseries",
          "activations"
        ])
        expect(recap.text).toContain(`${event.summary.totalTaps} taps by people`)
        expect(recap.text).toContain(
          `Main stage sponsor: ${event.summary.totalTaps} taps from ${event.summary.uniqueBands} bands`
        )
      }
      expect(byCampaign.body.subject).toEqual({ type: "campaign", id: campaign.body.id, name: "Summer tour" })
      expect(byRange.body.subject).toMatchObject({
        type: "organization",
        id: null,
        name: "Demo Organisation"
      })
      expect([byRange.body.from, byRange.body.to]).toEqual([range.from, range.to])
      expectNoRegistrantData(sentToProviders(peers))
      // Put the demo event back as the other tests expect it.
      yield* ok(
        yield* call("PATCH", `${event.base}/events/${event.eventId}`, {
          key: event.keys.EDITOR,
          body: { campaignId: null }
        }),
        200
      )
    })
  )

  it.effect("a scripted wrong number: written again once; still wrong, it is marked [unverified]", () =>
    Effect.gen(function* () {
      const peers = yield* resetPeers
      const event = yield* demoEvent
      const wrong = String(event.summary.totalTaps + 7)
      // First conversation wrong, the second right: regenerated, grounded.
      peers.openai.answerWith(writer("openai", (n) => (n === 1 ? 7 : 0)))
      const fixed = yield* ok(
        yield* call("POST", `${event.base}/recaps`, {
          key: event.keys.EDITOR,
          body: { eventId: event.eventId }
        }),
        201
      )
      expect(fixed.body.grounding).toEqual({ grounded: true, regenerated: true, unmatched: [] })
      expect(fixed.body.text).not.toContain(wrong)
      // The second draft was asked for with the number the first got wrong.
      expect(JSON.stringify(peers.openai.requests.at(-3)!.body)).toContain(
        `numbers no tool returned (${wrong})`
      )

      // Always wrong, streamed: the first draft's text, `regenerating`, the second's, then the marked recap.
      peers.openai.reset()
      peers.openai.answerWith(writer("openai", () => 7))
      const streamed = yield* call("POST", `${event.base}/recaps/stream`, {
        key: event.keys.EDITOR,
        body: { eventId: event.eventId }
      })
      expect([streamed.status, streamed.headers.get("content-type")]).toEqual([200, "text/event-stream"])
      const messages = messagesOf(streamed)
      const events = messages.map((m) => m.event)
      const regenerating = events.indexOf("regenerating")
      expect(regenerating).toBeGreaterThan(0)
      expect(events.slice(0, regenerating).every((e) => e === "text")).toBe(true)
      expect(events.slice(regenerating + 1, -1).every((e) => e === "text")).toBe(true)
      expect(events.at(-1)).toBe("done")
      expect(messages[regenerating]!.data).toEqual({ unmatched: [wrong] })
      const recap = messages.at(-1)!.data
      expect(recap.grounding).toEqual({ grounded: false, regenerated: true, unmatched: [wrong] })
      expect(recap.text).toContain(`${wrong} [unverified] taps by people`)
      const drafts = messages
        .slice(regenerating + 1, -1)
        .map((m) => m.data.delta)
        .join("")
      expect(drafts).toContain(`${wrong} taps by people`)
      // Kept as it was streamed, both drafts billed.
      const stored = yield* call("GET", `${event.base}/recaps/${recap.id}`, { key: event.keys.VIEWER })
      expect(stored.body.text).toBe(recap.text)
      expect(stored.body.inputTokens).toBe(2 * (11 + 11 + 900))
    })
  )

  it.effect("edited by an EDITOR (not a VIEWER), downloaded as Markdown and as a PDF pdftotext reads", () =>
    Effect.gen(function* () {
      const peers = yield* resetPeers
      const event = yield* demoEvent
      peers.openai.answerWith(writer("openai"))
      const created = yield* ok(
        yield* call("POST", `${event.base}/recaps`, {
          key: event.keys.EDITOR,
          body: { eventId: event.eventId }
        }),
        201
      )
      const path = `${event.base}/recaps/${created.body.id}`
      const text = `${created.body.text}\n\nThank you, Villette crew: see you in June.`
      expect((yield* call("PATCH", path, { key: event.keys.VIEWER, body: { text } })).status).toBe(403)
      for (const bad of [{ text: "" }, { text: "a\u0000b" }, { text: "x".repeat(100_001) }, {}]) {
        expect((yield* call("PATCH", path, { key: event.keys.EDITOR, body: bad })).status).toBe(400)
      }
      const edited = yield* ok(yield* call("PATCH", path, { key: event.keys.EDITOR, body: { text } }), 200)
      expect(edited.body.editedAt).not.toBeNull()
      expect((yield* call("GET", path, { key: event.keys.VIEWER })).body.text).toBe(text)

      const markdown = yield* call("GET", `${path}/markdown`, { key: event.keys.VIEWER })
      expect(markdown.status).toBe(200)
      expect(markdown.headers.get("content-type")).toContain("text/markdown")
      expect(markdown.headers.get("content-disposition")).toBe(
        `attachment; filename="recap-${created.body.id}.md"`
      )
      expect(markdown.text.startsWith(text)).toBe(true)
      expect(markdown.text).toContain("every number matched a Tapline query; edited since")

      const { url } = yield* AdminServer
      const pdf = yield* Effect.promise(async () => {
        const response = await fetch(`${url}${path}/pdf`, {
          headers: { authorization: `Bearer ${event.keys.VIEWER}` }
        })
        return {
          type: response.headers.get("content-type"),
          bytes: Buffer.from(await response.arrayBuffer())
        }
      })
      expect(pdf.type).toBe("application/pdf")
      const file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "recap-")), "recap.pdf")
      Fs.writeFileSync(file, pdf.bytes)
      const read = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" })
      expect(read).toContain(`${DEMO_EVENT_NAME}: the recap`)
      expect(read).toContain(`${event.summary.totalTaps} taps by people`)
      expect(read).toContain("see you in June")
    })
  )

  it.effect(
    "refusals before anything is sent: budget spent (429 on create and stream), bad scopes, other organisations",
    () =>
      Effect.gen(function* () {
        const peers = yield* resetPeers
        const event = yield* demoEvent
        const body = { eventId: event.eventId }
        const budget = `${event.base}/ai/budget`
        yield* ok(yield* call("PUT", budget, { key: event.keys.OWNER, body: { monthlyBudgetUsd: 0 } }), 200)
        const spent = yield* call("POST", `${event.base}/recaps`, { key: event.keys.EDITOR, body })
        expect([spent.status, spent.body._tag]).toEqual([429, "AiBudgetExhausted"])
        expect(Number(spent.headers.get("retry-after"))).toBe(spent.body.retryAfterSeconds)
        expect(spent.body.message).toMatch(/renews on \d{4}-\d{2}-01 \(UTC\)/)
        const spentStream = yield* call("POST", `${event.base}/recaps/stream`, {
          key: event.keys.EDITOR,
          body
        })
        expect([spentStream.status, spentStream.body._tag]).toEqual([429, "AiBudgetExhausted"])
        expect(spentStream.headers.get("content-type")).toContain("application/json")
        yield* ok(
          yield* call("PUT", budget, { key: event.keys.OWNER, body: { monthlyBudgetUsd: null } }),
          200
        )

        const other = yield* createTenant(yield* bootstrapKey(`recaps-other-${process.pid}@example.com`))
        const cases: ReadonlyArray<readonly [string, unknown, number]> = [
          ["both an event and a campaign", { eventId: event.eventId, campaignId: event.eventId }, 400],
          ["an organisation recap without a range", {}, 400],
          ["from after to", { from: "2026-12-07T00:00:00Z", to: "2026-12-01T00:00:00Z" }, 400],
          ["over 400 days", { from: "2024-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, 400],
          ["a malformed id", { eventId: "not-a-uuid\u0000" }, 400],
          ["an unknown event", { eventId: "01a2028c-3b1e-7c00-8000-0000000000e1" }, 404]
        ]
        for (const [what, payload, status] of cases) {
          const reply = yield* call("POST", `${event.base}/recaps`, { key: event.keys.EDITOR, body: payload })
          expect([what, reply.status]).toEqual([what, status])
        }
        // Another organisation's EDITOR: the demo event is not theirs (404), its recaps not readable (403/404).
        const theirs = yield* call("POST", `/api/v1/organizations/${other.orgId}/recaps`, {
          key: other.keys.EDITOR,
          body
        })
        expect(theirs.status).toBe(404)
        const wrongOrg = yield* call("GET", `${event.base}/recaps`, { key: other.keys.VIEWER })
        expect([403, 404]).toContain(wrongOrg.status)
        const viewer = yield* call("POST", `${event.base}/recaps`, { key: event.keys.VIEWER, body })
        expect(viewer.status).toBe(403)
        const wrongType = yield* call("POST", `${event.base}/recaps`, {
          key: event.keys.EDITOR,
          text: "eventId=x",
          contentType: "text/plain"
        })
        expect(wrongType.status).toBeGreaterThanOrEqual(400)
        expect(wrongType.status).toBeLessThan(500)
        // None of it reached a provider.
        expect(Object.values(peers).flatMap((p) => p.requests)).toEqual([])
      })
  )
})
