import { Cause, ConfigProvider, Effect, Either, Exit, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { groupOf, parseBrokerUrl, platformDestinations } from "../src/Brokers/BrokerConfig.js"

const read = (env: Record<string, string>) =>
  Effect.runSyncExit(
    platformDestinations.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  )

const refusal = (text: string) => Either.getLeft(parseBrokerUrl(text))._tag === "Some"

describe("broker URLs", () => {
  it("name the kind by scheme, the hosts, the credentials and what is published to", () => {
    const kafka = Either.getOrThrow(parseBrokerUrl("kafka://svc:pa%40ss@k1.example:9092,k2.example/taps.v1"))
    expect(kafka).toMatchObject({
      kind: "kafka",
      tls: false,
      hosts: [
        { host: "k1.example", port: 9092 },
        { host: "k2.example", port: 9092 }
      ],
      username: "svc",
      target: "taps.v1"
    })
    expect(kafka.password && Redacted.value(kafka.password)).toBe("pa@ss")
    // Printed, as a config dump or a log line would: the password never shows.
    expect(String(kafka.password)).not.toContain("pa@ss")
    expect(Either.getOrThrow(parseBrokerUrl("amqps://mq.example"))).toMatchObject({
      kind: "rabbitmq",
      tls: true,
      hosts: [{ host: "mq.example", port: 5671 }],
      target: "tapline"
    })
    expect(Either.getOrThrow(parseBrokerUrl("nats+tls://[::1]:4333/EVENTS"))).toMatchObject({
      kind: "nats",
      tls: true,
      hosts: [{ host: "::1", port: 4333 }],
      target: "EVENTS"
    })
  })

  it("refuses what no broker takes, with a reason and never the password", () => {
    for (const text of [
      "http://k1:9092",
      "kafka://",
      "kafka://host:99999",
      "kafka://ho st:9092",
      "kafka://host\u0000:9092",
      "kafka://høst:9092",
      "nats://host/has.dots",
      "amqp://host/\u0007bell",
      `kafka://${"a".repeat(1_000_000)}:9092`,
      `kafka://${Array.from({ length: 20 }, (_, n) => `h${n}:9092`).join(",")}`
    ]) {
      expect(refusal(text), text.slice(0, 40)).toBe(true)
    }
    const why = Either.getLeft(parseBrokerUrl("kafka://user:s3cret-pw@bad host:9092"))
    expect(why._tag === "Some" && why.value).not.toContain("s3cret-pw")
  })
})

describe("platform destinations (BROKER_DESTINATIONS)", () => {
  it("are none by default, else one per name with its own URL variable and consumer group", () => {
    expect(read({})).toEqual(Exit.succeed([]))
    const exit = read({
      BROKER_DESTINATIONS: "main, data-team",
      BROKER_MAIN_URL: "kafka://127.0.0.1:9092/taps",
      BROKER_DATA_TEAM_URL: "nats://127.0.0.1:4222"
    })
    expect(Exit.isSuccess(exit)).toBe(true)
    const destinations = Exit.isSuccess(exit) ? exit.value : []
    expect(destinations.map((d) => [d.name, d.endpoint.kind, d.endpoint.target, groupOf(d)])).toEqual([
      ["main", "kafka", "taps", "broker-main"],
      ["data-team", "nats", "TAPLINE", "broker-data-team"]
    ])
  })

  it("stop the start naming the variable that is missing or wrong, never quoting a password", () => {
    const missing = read({ BROKER_DESTINATIONS: "main" })
    expect(Exit.isFailure(missing) && Cause.pretty(missing.cause)).toContain("BROKER_MAIN_URL")
    const wrong = read({ BROKER_DESTINATIONS: "main", BROKER_MAIN_URL: "ftp://u:hunter2@host" })
    const text = Exit.isFailure(wrong) ? Cause.pretty(wrong.cause) : ""
    expect(text).toContain("BROKER_MAIN_URL")
    expect(text).toContain("unknown scheme ftp")
    expect(text).not.toContain("hunter2")
    for (const names of ["Main", "main,main", "a b", "writers!"]) {
      const bad = read({ BROKER_DESTINATIONS: names })
      expect(Exit.isFailure(bad) && Cause.pretty(bad.cause)).toContain("BROKER_DESTINATIONS")
    }
  })
})
