import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { KAFKA_PLAINTEXT_REFUSED, parseDestinationUrl, shownUrl } from "../src/Destinations/BrokerUrls.js"

/* What an organisation's broker URL may be, and how it is shown: never with its credentials. */

const shown = (url: string) => shownUrl(url, Either.getOrThrow(parseDestinationUrl(url)))

describe("destination URLs", () => {
  it("shows scheme, hosts and target without the credentials", () => {
    expect(shown("amqps://user:p%40ss@mq.example.com/orders")).toBe("amqps://mq.example.com:5671/orders")
    expect(shown("nats+tls://u:secret@a.example.com:4223,b.example.com/TAPS")).toBe(
      "nats+tls://a.example.com:4223,b.example.com:4222/TAPS"
    )
    expect(shown("amqp://guest:guest@[2001:db8::1]:5672/x")).toBe("amqp://[2001:db8::1]:5672/x")
    expect(shown("nats://only-user@n.example.com")).toBe("nats://n.example.com:4222/TAPLINE")
  })

  it("refuses plaintext Kafka with the reason, takes kafka+tls://, never quoting a password", () => {
    const plaintext = parseDestinationUrl("kafka://user:hunter2@k.example.com:9092/taps")
    expect(plaintext).toEqual(Either.left(KAFKA_PLAINTEXT_REFUSED))
    expect(KAFKA_PLAINTEXT_REFUSED).toContain("kafka+tls://")
    expect(JSON.stringify(plaintext)).not.toContain("hunter2")
    expect(shown("kafka+tls://user:hunter2@k.example.com/taps")).toBe("kafka+tls://k.example.com:9093/taps")
    // A malformed %-escape anywhere is a refusal, not a thrown URIError (which answered 500).
    for (const url of [
      "amqp://mq.example.com/%E0",
      "amqp://us%E0r:pw@mq.example.com/x",
      "nats://u:p%ZZ@n.example.com"
    ]) {
      expect(parseDestinationUrl(url)).toEqual(Either.left("a malformed %-escape in the URL"))
    }
    const bad = parseDestinationUrl("amqp://user:hunter2@bad_host!/x")
    expect(Either.isLeft(bad)).toBe(true)
    expect(JSON.stringify(bad)).not.toContain("hunter2")
  })
})
