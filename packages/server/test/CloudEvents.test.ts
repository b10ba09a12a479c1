import { Ajv } from "ajv"
import { CloudEvent, HTTP, Kafka, type KafkaMessage } from "cloudevents"
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import type { BrokerMessage } from "../src/Brokers/Broker.js"
import type { OutboxMessage } from "../src/Outbox/Destination.js"
import * as CloudEvents from "../src/Streams/CloudEvents.js"
import { outgoing } from "../src/Streams/Payloads.js"
import * as Schemas from "../src/Streams/Schemas.js"
import type { TapRecord } from "../src/Taps/TapRecord.js"

/*
 * Every message Tapline publishes to a broker, checked by others: the reference `cloudevents` package must
 * accept it as a CloudEvents 1.0 structured event (its constructor validates every attribute; HTTP and
 * Kafka structured parsing read it back), and Ajv must find its `data` valid against the JSON Schema the API
 * serves for its type. A tap's address, user agent and URL never leave, whatever they hold.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)

const ORIGIN = new URL("https://api.tapline.example")
const ORG = { id: "0192f1a0-0000-7000-8000-000000000001", slug: "summer-fest" }
const EVENT = "0192f1a0-0000-7000-8000-0000000000e1"
const BAND = "0192f1a0-0000-7000-8000-0000000000b1"

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// Ajv knows no formats by itself (ajv-formats is a separate package): the two the schemas use, by their RFCs.
const ajv = new Ajv({ strict: true, allErrors: true })
ajv.addFormat("date-time", (value: string) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)))
ajv.addFormat("uuid", UUID)
const validators = new Map(
  Schemas.types.map((type) => [type, ajv.compile(Schemas.jsonSchema(ORIGIN, type) as object)])
)

/** The checks every message passes; answers the parsed event for more. */
const checked = (message: BrokerMessage) => {
  const parsed = JSON.parse(message.body) as Record<string, unknown>
  // The constructor validates (strict by default) and throws a ValidationError naming what is wrong.
  const event = new CloudEvent(parsed)
  expect(event.specversion).toBe("1.0")
  expect(event.id).toBe(message.id)
  expect(event.type).toBe(message.type)
  expect(event.source).toBe(`/organizations/${ORG.id}`)
  expect(event.subject).toBe(message.key)
  expect(event.datacontenttype).toBe("application/json")
  expect(message.organizationSlug).toBe(ORG.slug)
  const type = message.type.slice("tapline.".length)
  expect(event.dataschema).toBe(`https://api.tapline.example/api/v1/schemas/${type}.json`)
  expect(String(event.time)).toMatch(RFC3339)
  const headers = { "content-type": CloudEvents.CONTENT_TYPE }
  const overHttp = HTTP.toEvent({ headers, body: message.body }) as CloudEvent<unknown>
  expect(overHttp.id).toBe(message.id)
  expect(overHttp.data).toEqual(parsed.data)
  const kafkaMessage: KafkaMessage<string> = {
    headers,
    key: message.key,
    value: message.body,
    body: message.body
  }
  const overKafka = Kafka.toEvent(kafkaMessage)
  expect((overKafka as CloudEvent<unknown>).type).toBe(message.type)
  const validate = validators.get(type)
  expect(validate, `a schema for ${type}`).toBeDefined()
  if (!validate!(parsed.data)) throw new Error(`${type}: ${ajv.errorsText(validate!.errors)}`)
  return parsed
}

const tapRecord = (overrides: Partial<TapRecord> = {}): TapRecord => ({
  id: "0192f1a0-0000-7000-8000-00000000a001",
  orgId: ORG.id,
  eventId: EVENT,
  bandId: BAND,
  bandUid: "BAND-0001",
  windowId: "0192f1a0-0000-7000-8000-0000000000c1",
  mode: "LIVE",
  kind: "WINDOW",
  url: "https://summer.example/live?utm_source=band",
  at: Date.UTC(2026, 6, 1, 19, 30, 0, 123),
  ua: "Mozilla/5.0 (iPhone) secret-agent",
  ip: "203.0.113.77",
  utm: { source: "band" },
  bot: false,
  dup: false,
  assign: null,
  ...overrides
})

const outboxMessage = (eventType: string, data: Record<string, unknown>): OutboxMessage => ({
  id: "0192f1a0-0000-7000-8000-00000000f001",
  organizationId: ORG.id,
  eventType,
  data,
  createdAt: new Date(Date.UTC(2026, 6, 1, 20, 0, 0))
})

const ENDPOINT = "0192f1a0-0000-7000-8000-0000000000d1"

/** One event of each outbox type, as its publisher writes it (Outbox/Events.ts and each `publish` call). */
const outboxData: Record<string, Record<string, unknown>> = {
  "tap.created": {
    taps: [
      { ...CloudEvents.tapData(tapRecord()), tappedAt: "2026-07-01T19:30:00.123+00:00" },
      {
        ...CloudEvents.tapData(tapRecord({ id: "0192f1a0-0000-7000-8000-00000000a002", bandId: null })),
        tappedAt: "2026-07-01T19:31:00+00:00"
      }
    ]
  },
  "band.flagged": { eventId: EVENT, bandId: BAND, bandUid: "BAND-0001", reason: "tapped 412 miles away" },
  "band.assigned": {
    eventId: EVENT,
    previousEventId: null,
    bands: [{ id: BAND, uid: "BAND-0001" }],
    automatic: false
  },
  "event.status_changed": {
    eventId: EVENT,
    name: "Summer Fest",
    from: "DRAFT",
    to: "ACTIVE",
    automatic: true
  },
  "export.ready": {
    exportId: "0192f1a0-0000-7000-8000-0000000000f9",
    kind: "taps",
    rows: 12,
    bytes: 3456,
    expiresAt: "2026-07-08T20:00:00.000Z"
  },
  "import.completed": { eventId: EVENT, received: 3, created: 2, updated: 1, invalid: 0 },
  "webhook.disabled": { endpointId: ENDPOINT, url: "https://hooks.example/in", reason: "no answer for 30 h" },
  "webhook.test": { endpointId: ENDPOINT }
}

describe("CloudEvents rendering", () => {
  it("serves a schema for every type published and consumed, and the fixtures cover every outbox type", () => {
    expect(Object.keys(outboxData).sort()).toEqual(Object.keys(outgoing).sort())
    expect([...Schemas.types].sort()).toEqual(
      [...Object.keys(outgoing), "band.registered", "band.unregistered"].sort()
    )
  })

  it("a tap is a tapline.tap.created event keyed by its band's uid, carrying the webhook fields only", () => {
    const message = CloudEvents.tap(ORIGIN, ORG, tapRecord())
    expect(message).toMatchObject({ id: tapRecord().id, type: "tapline.tap.created", key: "BAND-0001" })
    const event = checked(message)
    expect(event.time).toBe("2026-07-01T19:30:00.123Z")
    expect(event.data).toEqual({
      id: tapRecord().id,
      eventId: EVENT,
      bandId: BAND,
      bandUid: "BAND-0001",
      windowId: "0192f1a0-0000-7000-8000-0000000000c1",
      mode: "LIVE",
      redirectKind: "WINDOW",
      tappedAt: "2026-07-01T19:30:00.123Z",
      isBot: false,
      isDuplicate: false
    })
    for (const secret of ["203.0.113.77", "secret-agent", "summer.example", "utm_source"])
      expect(message.body).not.toContain(secret)
  })

  it("a tap whose band has no row yet has the same key, in the event it is being assigned to", () => {
    const message = CloudEvents.tap(
      ORIGIN,
      ORG,
      tapRecord({
        bandId: null,
        eventId: null,
        assign: { eventId: EVENT, distanceMiles: 1, flagged: false, flagReason: null }
      })
    )
    expect(message.key).toBe("BAND-0001")
    expect(checked(message).data).toMatchObject({ bandId: null, eventId: EVENT })
  })

  it("every outbox event is a valid CloudEvent whose data its schema accepts", () => {
    for (const [eventType, data] of Object.entries(outboxData)) {
      const messages = CloudEvents.outbox(ORIGIN, ORG, outboxMessage(eventType, data))
      expect(messages.length, eventType).toBeGreaterThan(0)
      for (const message of messages) {
        const event = checked(message)
        expect(message.type).toBe(`tapline.${eventType}`)
        if (eventType !== "tap.created") {
          expect(message.id).toBe("0192f1a0-0000-7000-8000-00000000f001")
          expect(event.data).toEqual(data)
          expect(event.time).toBe("2026-07-01T20:00:00.000Z")
        }
      }
    }
  })

  it("an outbox event is keyed by the resource it is about", () => {
    const keyOf = (type: string) =>
      CloudEvents.outbox(ORIGIN, ORG, outboxMessage(type, outboxData[type]!))[0]!.key
    // A band's flag goes with its taps, by the band's uid.
    expect(keyOf("band.flagged")).toBe("BAND-0001")
    expect(keyOf("band.assigned")).toBe(EVENT)
    expect(keyOf("event.status_changed")).toBe(EVENT)
    expect(keyOf("import.completed")).toBe(EVENT)
    expect(keyOf("export.ready")).toBe("0192f1a0-0000-7000-8000-0000000000f9")
    expect(keyOf("webhook.disabled")).toBe(ENDPOINT)
    expect(keyOf("webhook.test")).toBe(ENDPOINT)
  })

  it("an outbox tap.created batch is one message per tap, the same body the tap stream renders", () => {
    const record = tapRecord()
    const messages = CloudEvents.outbox(ORIGIN, ORG, outboxMessage("tap.created", outboxData["tap.created"]!))
    expect(messages.map((message) => message.id)).toEqual([record.id, "0192f1a0-0000-7000-8000-00000000a002"])
    expect(messages[0]).toEqual(CloudEvents.tap(ORIGIN, ORG, record))
    expect(messages[1]!.key).toBe("BAND-0001")
  })

  it("the schemas refuse what the webhook contract does not carry", () => {
    const tapSchema = validators.get("tap.created")!
    const data = CloudEvents.tapData(tapRecord())
    expect(tapSchema(data)).toBe(true)
    expect(tapSchema({ ...data, ip: "203.0.113.77" })).toBe(false)
    expect(tapSchema({ ...data, tappedAt: "yesterday" })).toBe(false)
    expect(tapSchema({ ...data, mode: "SOON" })).toBe(false)
    const { isBot: _, ...missing } = data
    expect(tapSchema(missing)).toBe(false)
  })
})

/** Text as hostile as a field may carry: control characters, NUL, non-Latin-1, lone surrogates, 1 MB. */
const hostile = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 6,
    arbitrary: fc.string({
      unit: fc.constantFrom(
        "\u0000",
        "\u0007",
        "\n",
        "\r",
        "\u007f",
        "\u0085",
        "é",
        "字",
        "😀",
        "\u2028",
        "\ud800"
      ),
      maxLength: 40
    })
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("\u0000", "a\u0000b\r\n字😀").map((unit) => unit.repeat(2 ** 20 / unit.length))
  }
)

const uuid = fc.uuid()
const bandUid = fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/)

const tapArbitrary = fc.record({
  id: uuid,
  orgId: fc.option(uuid, { nil: null }),
  eventId: fc.option(uuid, { nil: null }),
  bandId: fc.option(uuid, { nil: null }),
  bandUid,
  windowId: fc.option(uuid, { nil: null }),
  mode: fc.constantFrom("PRE", "LIVE", "POST", null),
  kind: fc.constantFrom("WINDOW", "FALLBACK", "ORG", "DEFAULT"),
  url: hostile,
  at: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
  ua: fc.option(hostile, { nil: null }),
  ip: fc.option(hostile, { nil: null }),
  utm: fc.option(fc.record({ source: hostile, campaign: hostile }, { requiredKeys: [] }), { nil: null }),
  bot: fc.boolean(),
  dup: fc.boolean(),
  assign: fc.option(
    fc.record({
      eventId: uuid,
      distanceMiles: fc.option(fc.double({ noNaN: true }), { nil: null }),
      flagged: fc.boolean(),
      flagReason: fc.option(hostile, { nil: null })
    }),
    { nil: null }
  ),
  trace: fc.option(hostile, { nil: undefined })
}) as fc.Arbitrary<TapRecord>

const TAP_FIELDS = [
  "id",
  "eventId",
  "bandId",
  "bandUid",
  "windowId",
  "mode",
  "redirectKind",
  "tappedAt",
  "isBot",
  "isDuplicate"
]

describe("CloudEvents rendering, any input", () => {
  it("every tap renders a valid CloudEvent with only the webhook fields, whatever its other fields hold", () => {
    console.log(`CloudEvents tap property with FUZZ_SEED=${SEED}`)
    fc.assert(
      fc.property(tapArbitrary, (record) => {
        const message = CloudEvents.tap(ORIGIN, ORG, record)
        const event = checked(message)
        const data = event.data as Record<string, unknown>
        expect(Object.keys(data).sort()).toEqual([...TAP_FIELDS].sort())
        expect(Object.keys(event).sort()).toEqual(
          [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "data"
          ].sort()
        )
        expect(message.key).toBe(record.bandUid)
        // The body is what a broker stores: no byte of the address or user agent is in it when they are
        // long enough not to occur by chance.
        for (const secret of [record.ua, record.ip, record.url])
          if (secret !== null && secret.length >= 40) expect(message.body.includes(secret)).toBe(false)
      }),
      { seed: SEED, numRuns: 150 }
    )
  }, 120_000)

  it("every outbox event carrying hostile text renders a valid CloudEvent that gives the text back unchanged", () => {
    console.log(`CloudEvents outbox property with FUZZ_SEED=${SEED}`)
    const events = fc.oneof(
      fc
        .record({ eventId: uuid, bandId: uuid, bandUid: hostile, reason: fc.option(hostile, { nil: null }) })
        .map((data) => ["band.flagged", data] as const),
      fc
        .record({
          eventId: uuid,
          name: fc.option(hostile, { nil: null }),
          from: fc.constantFrom("DRAFT", "ACTIVE", null),
          to: fc.constantFrom("COMPLETED", "CANCELLED"),
          automatic: fc.boolean()
        })
        .map((data) => ["event.status_changed", data] as const),
      fc
        .record({ endpointId: uuid, url: hostile, reason: hostile })
        .map((data) => ["webhook.disabled", data] as const),
      fc
        .record({
          eventId: fc.option(uuid, { nil: null }),
          bands: fc.array(fc.record({ id: uuid, uid: fc.option(hostile, { nil: null }) }), { maxLength: 5 }),
          automatic: fc.boolean()
        })
        .map((data) => ["band.assigned", data] as const)
    )
    fc.assert(
      fc.property(
        uuid,
        events,
        fc.date({
          min: new Date(Date.UTC(2000, 0, 1)),
          max: new Date(Date.UTC(2100, 0, 1)),
          noInvalidDate: true
        }),
        (id, [eventType, data], createdAt) => {
          const [message] = CloudEvents.outbox(ORIGIN, ORG, {
            id,
            organizationId: ORG.id,
            eventType,
            data,
            createdAt
          })
          const event = checked(message!)
          expect(event.data).toEqual(data)
          expect(message!.id).toBe(id)
        }
      ),
      { seed: SEED, numRuns: 150 }
    )
  }, 120_000)
})
