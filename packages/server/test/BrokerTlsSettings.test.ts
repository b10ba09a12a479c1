import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ConfigProvider, Effect, Either, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { brokerCa, parseBrokerUrl } from "../src/Brokers/BrokerConfig.js"
import * as Brokers from "../src/Brokers/providers.js"

/*
 * BROKER_CA_FILE as configuration (absent, a PEM file, a file that is not one, no file), and the publisher
 * registry refusing plaintext Kafka wherever vetting is asked for: its sockets could not be checked.
 */

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-broker-ca-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const read = (env: Record<string, string>) =>
  Effect.runSyncExit(
    Effect.withConfigProvider(brokerCa, ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("broker TLS settings", () => {
  it("reads BROKER_CA_FILE's PEM, nothing when unset, and refuses a missing or non-PEM file", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    Fs.writeFileSync(Path.join(dir, "ca.pem"), pem)
    Fs.writeFileSync(Path.join(dir, "not.pem"), "hello")
    expect(read({})).toEqual(Exit.succeed(undefined))
    expect(read({ BROKER_CA_FILE: Path.join(dir, "ca.pem") })).toEqual(Exit.succeed(pem))
    for (const file of ["not.pem", "absent.pem"]) {
      const exit = read({ BROKER_CA_FILE: Path.join(dir, file) })
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("BROKER_CA_FILE")
    }
  })

  it("refuses a vetted publisher for plaintext Kafka before any connection", async () => {
    const endpoint = Either.getOrThrow(parseBrokerUrl("kafka://127.0.0.1:1/taps"))
    const vetting = {
      resolve: () => Promise.reject(new Error("never asked")),
      refuses: () => "never asked"
    }
    const exit = await Effect.runPromiseExit(Effect.scoped(Brokers.publisher(endpoint, { vetting })))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("kafka+tls://")
  })
})
