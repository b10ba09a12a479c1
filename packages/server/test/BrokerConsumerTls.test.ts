import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { Deferred, Effect, Either } from "effect"
import { parseBrokerUrl } from "../src/Brokers/BrokerConfig.js"
import * as Brokers from "../src/Brokers/providers.js"

/*
 * A registration source over TLS to a broker whose certificate only BROKER_CA_FILE's CA vouches for: the
 * consumer trusts that CA as the publisher does (it used to be given to publishers only, so a private-CA
 * NATS or RabbitMQ could be published to but never consumed from).
 */

let nats: NatsServer
let ca: string

beforeAll(async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-consumer-tls-"))
  const [cert, key] = [Path.join(dir, "cert.pem"), Path.join(dir, "key.pem")]
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"],
      ...["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    ],
    { stdio: "ignore" }
  )
  ca = Fs.readFileSync(cert, "utf8")
  nats = await startNatsServer({ config: `tls { cert_file: "${cert}", key_file: "${key}" }` })
  Fs.rmSync(dir, { recursive: true, force: true })
}, 30_000)
afterAll(() => nats?.dispose())

describe("a broker consumer over TLS", () => {
  it.scoped("trusts BROKER_CA_FILE's CA, as the publisher does", () =>
    Effect.gen(function* () {
      const endpoint = Either.getOrThrow(parseBrokerUrl(`nats+tls://localhost:${nats.port}/REGTLS`))
      const publisher = yield* Brokers.publisher(endpoint, { ca })
      yield* publisher.publish([
        {
          id: "reg-1",
          type: "tapline.band.registered",
          key: "B-1",
          organizationSlug: "acme",
          body: JSON.stringify({ id: "reg-1" })
        }
      ])
      const received = yield* Deferred.make<string | undefined>()
      const settings = { name: "tls-reader", bindingKeys: [], filterSubject: "tapline.>", ca }
      const consumer = yield* Brokers.consumer(endpoint, settings)
      yield* consumer.consume((message) => Deferred.succeed(received, message.id))
      expect(yield* Deferred.await(received)).toBe("reg-1")
    })
  )
})
