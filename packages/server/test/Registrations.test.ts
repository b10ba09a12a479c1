import { CloudEvent } from "cloudevents"
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import * as Registrations from "../src/Streams/Registrations.js"

/*
 * Registrations in: what a ticketing system publishes decodes to a typed registration; anything else is
 * refused with a one-line reason a dead letter can keep (never the refused value itself when it is big).
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)

const EVENT = "0192f1a0-0000-7000-8000-0000000000e1"

const registered = (overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
  specversion: "1.0",
  id: "tix-81723",
  source: "https://tickets.example/events/summer",
  type: "tapline.band.registered",
  time: "2026-07-01T18:00:00Z",
  datacontenttype: "application/json",
  data: {
    bandUid: "BAND-0001",
    eventId: EVENT,
    registrant: { name: "Zoë Ñúñez 李", email: "zoe@example.com" },
    ...data
  },
  ...overrides
})

const unregistered = {
  specversion: "1.0",
  id: "tix-81724",
  source: "/tickets",
  type: "tapline.band.unregistered",
  data: { bandUid: "BAND-0001", eventId: EVENT }
}

const reasonOf = (body: string | Uint8Array) => {
  const decoded = Registrations.decode(body)
  if (Either.isRight(decoded)) throw new Error(`decoded what it should refuse: ${String(body).slice(0, 200)}`)
  expect(decoded.left._tag).toBe("InvalidRegistration")
  const reason = decoded.left.reason
  // One line, bounded, printable: a dead letter's reason column and an operator's log.
  expect(reason.length).toBeGreaterThan(0)
  expect(reason.length).toBeLessThanOrEqual(500)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
  expect(reason).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
  return reason
}

const json = (value: unknown) => JSON.stringify(value)

describe("Registrations: decoding", () => {
  it("a band.registered CloudEvent decodes, and is one the reference package accepts", () => {
    const body = json(registered())
    expect(() => new CloudEvent(JSON.parse(body))).not.toThrow()
    const decoded = Either.getOrThrow(Registrations.decode(body))
    expect(decoded).toMatchObject({
      type: "tapline.band.registered",
      id: "tix-81723",
      data: {
        bandUid: "BAND-0001",
        eventId: EVENT,
        registrant: { name: "Zoë Ñúñez 李", email: "zoe@example.com" }
      }
    })
  })

  it("a band.unregistered CloudEvent decodes, from text or bytes; extension attributes are ignored", () => {
    const decoded = Either.getOrThrow(
      Registrations.decode(Buffer.from(json({ ...unregistered, partner: "x" })))
    )
    expect(decoded).toMatchObject({ type: "tapline.band.unregistered", data: { bandUid: "BAND-0001" } })
  })

  it("refuses what is not JSON, not an object, too big or nested too deep", () => {
    expect(reasonOf("{not json")).toMatch(/not JSON/)
    expect(reasonOf("")).toMatch(/not JSON/)
    expect(reasonOf(Buffer.from([0xff, 0xfe, 0x00]))).toMatch(/not JSON/)
    expect(reasonOf("[1,2]")).toMatch(/not a JSON object/)
    expect(reasonOf("null")).toMatch(/not a JSON object/)
    expect(reasonOf(`"${"a".repeat(100)}"`)).toMatch(/not a JSON object/)
    expect(
      reasonOf(json(registered({}, { registrant: { name: "x".repeat(2 ** 20), email: "a@b.co" } })))
    ).toMatch(/bytes, at most 65536/)
    const deep = `{"specversion":"1.0","data":${"[".repeat(30_000)}${"]".repeat(30_000)}}`
    expect(reasonOf(deep)).toMatch(/nests deeper than 16/)
    const deepObject = `{"a":${'{"a":'.repeat(20)}1${"}".repeat(20)}}`
    expect(reasonOf(deepObject)).toMatch(/nests deeper/)
  })

  it("refuses a wrong specversion or an unknown type", () => {
    expect(reasonOf(json(registered({ specversion: "0.3" })))).toMatch(
      /specversion: specversion must be "1.0"/
    )
    expect(reasonOf(json(registered({ specversion: 1 })))).toMatch(/specversion/)
    expect(reasonOf(json(registered({ type: "tapline.band.stolen" })))).toMatch(/^type: /)
  })

  it("refuses missing fields, naming each", () => {
    const { id: _id, ...withoutId } = registered()
    expect(reasonOf(json(withoutId))).toMatch(/^id: is missing/)
    expect(reasonOf(json(registered({ data: undefined })))).toMatch(/data: is missing/)
    const reason = reasonOf(json(registered({}, { registrant: { name: "Zoë" }, bandUid: undefined })))
    expect(reason).toMatch(/data\.bandUid: is missing/)
    expect(reason).toMatch(/data\.registrant\.email: is missing/)
    const { source: _source, ...withoutSource } = unregistered
    expect(reasonOf(json(withoutSource))).toMatch(/source: is missing/)
  })

  it("refuses wrong types and values that break the rules", () => {
    expect(reasonOf(json(registered({}, { eventId: 42 })))).toMatch(
      /data\.eventId: Expected string, actual 42/
    )
    expect(reasonOf(json(registered({}, { eventId: "not-a-uuid" })))).toMatch(/data\.eventId: an event id/)
    expect(reasonOf(json(registered({}, { bandUid: "BAND 1/2" })))).toMatch(/data\.bandUid: a band uid/)
    expect(reasonOf(json(registered({}, { registrant: "Zoë" })))).toMatch(/data\.registrant: Expected/)
    expect(reasonOf(json(registered({}, { registrant: { name: ["Zoë"], email: "z@x.io" } })))).toMatch(
      /data\.registrant\.name: Expected string/
    )
    expect(reasonOf(json(registered({ time: "yesterday" })))).toMatch(/time must be an RFC 3339 instant/)
    expect(reasonOf(json(registered({ datacontenttype: "text/xml" })))).toMatch(/application\/json/)
    for (const email of ["zoe", "zoe@", "zoe@example", "zo e@example.com", `${"a".repeat(320)}@x.io`])
      expect(reasonOf(json(registered({}, { registrant: { name: "Zoë", email } })))).toMatch(
        /data\.registrant\.email/
      )
  })

  it("refuses control characters, lone surrogates, blank and over-long names", () => {
    for (const name of ["Zo\u0000ë", "Zoë\r\nBcc: x", "Zoë\t", "\u007f", "Zo\u0085ë"])
      expect(reasonOf(json(registered({}, { registrant: { name, email: "z@x.io" } })))).toMatch(
        /data\.registrant\.name: the name holds control characters/
      )
    expect(reasonOf(json(registered({}, { registrant: { name: "Zo\ud800", email: "z@x.io" } })))).toMatch(
      /lone surrogate/
    )
    expect(reasonOf(json(registered({}, { registrant: { name: "   ", email: "z@x.io" } })))).toMatch(
      /the name is empty/
    )
    const long = "é".repeat(20_000)
    const reason = reasonOf(json(registered({}, { registrant: { name: long, email: "z@x.io" } })))
    expect(reason).toMatch(/the name is 20000 characters, at most 200 allowed/)
    expect(reason).not.toContain("éééé")
    expect(reasonOf(json(registered({ id: "a\nb" })))).toMatch(/^id: id holds control characters/)
  })

  it("a 1 MB value in any field is refused by size, its reason short", () => {
    const mega = "x".repeat(2 ** 20)
    expect(reasonOf(json(registered({ id: mega })))).toMatch(/bytes, at most/)
    expect(reasonOf(mega)).toMatch(/bytes, at most/)
  })

  it("any bytes at all: decode answers, never throws, and a refusal always has a reason", () => {
    console.log(`Registrations property with FUZZ_SEED=${SEED}`)
    const text = fc.string({ unit: "binary", maxLength: 60 })
    const anything = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue().map((value) => JSON.stringify(value) ?? "null"),
      fc
        .record({ name: text, email: text, bandUid: text, eventId: fc.oneof(fc.uuid(), text), id: text })
        .map((f) => json(registered({ id: f.id }, { bandUid: f.bandUid, eventId: f.eventId, registrant: f })))
    )
    fc.assert(
      fc.property(anything, (body) => {
        const decoded = Registrations.decode(body)
        if (Either.isLeft(decoded)) reasonOf(body)
        else expect(() => new CloudEvent(JSON.parse(Buffer.from(body).toString()))).not.toThrow()
      }),
      { seed: SEED, numRuns: 300 }
    )
  })
})
