import * as NodeContext from "@effect/platform-node/NodeContext"
import { Email } from "@tapline/domain"
import { ApiKeys, AppConfig, Audit, Bootstrap, Runtime, Users } from "@tapline/server"
import { type NatsServer, startNatsServer } from "@tapline/testing/natsServer"
import { freePort } from "@tapline/testing/ports"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runDestinationCommands } from "../../cli/src/DestinationCommands.js"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { apiCaller, runCli, startServer, stopCleanly, waitUntilReady } from "./support/ServerProcess.js"

/*
 * `pnpm tapline destinations:*` (issue 32, item 7) against a built server, a real PostgreSQL and Redis and a
 * private nats-server with a password. The commands run in-process (the same Command values main.ts mounts,
 * with their typed client), so the file costs one Node start for the CLI, not one per command: that one
 * checks main.ts mounts them and prints as the other commands do.
 */

const USER = { user: "tapline", password: "cli-nats-pw-31" }

let nats: NatsServer

beforeAll(async () => {
  nats = await startNatsServer({
    config: `authorization { user: ${USER.user}, password: "${USER.password}" }\n`,
    user: USER
  })
}, 60_000)

afterAll(async () => {
  await nats?.dispose()
})

/** Runs `tapline <args>` in this process: what it printed, and how it ended (an API error is its failure). */
const runInProcess = async (args: ReadonlyArray<string>, env: { url: string; key: string }) => {
  const printed: Array<string> = []
  const log = console.log
  const exitCode = process.exitCode
  console.log = (...parts: Array<unknown>) => printed.push(parts.join(" "))
  try {
    const exit = await Effect.runPromiseExit(
      runDestinationCommands(["node", "tapline", ...args]).pipe(
        Effect.provide(NodeContext.layer),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["TAPLINE_URL", env.url],
              ["TAPLINE_API_KEY", env.key]
            ])
          )
        )
      )
    )
    return { exit, output: printed.join("\n"), exitCode: process.exitCode }
  } finally {
    console.log = log
    // `destinations:test` sets the exit code when the message was not delivered: not this test runner's.
    process.exitCode = exitCode
  }
}

/** A platform ADMIN's API key, made as `admin:bootstrap` makes it, in this process. */
const bootstrapKey = (databaseUrl: string) =>
  Effect.runPromise(
    Bootstrap.bootstrapAdmin(Email.make("cli-destinations@example.com")).pipe(
      Effect.provide(
        Layer.merge(ApiKeys.ApiKeyRepository.Default, Users.Default).pipe(Layer.provideMerge(Audit.Default))
      ),
      Effect.provide(Runtime.DatabaseLive),
      Effect.provide(AppConfig.layer),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", databaseUrl]])))
    )
  ).then((result) => result.secret)

const json = <A>(output: string) => JSON.parse(output.slice(output.search(/[[{]/))) as A

interface Shown {
  readonly id: string
  readonly kind: string
  readonly url: string
  readonly enabled: boolean
  readonly delivered: number
  readonly eventTypes: ReadonlyArray<string>
}

// A server and one CLI process (each a Node start) on a busy 2-core machine: a cap, not a measure.
describe("pnpm tapline destinations:*", () => {
  it("creates, lists, tests (delivered to NATS), disables, enables and redrives; refusals in words", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli-destinations")
    const server = await startServer({
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TAP_DOMAIN: "tap.test",
      // The test's broker listens on loopback, which production refuses.
      OUTBOUND_ALLOW: "127.0.0.1,localhost"
    })
    try {
      await waitUntilReady(server)
      const key = await bootstrapKey(database.url)
      const env = { url: server.url, key }
      const org = await apiCaller(server.url, key)("POST", "/api/v1/organizations", {
        slug: "clidest",
        name: "CLI Destinations"
      })
      expect(org.slug).toBe("clidest")

      const url = `nats://${USER.user}:${USER.password}@127.0.0.1:${nats.port}/CLI_TAPS`
      const created = await runInProcess(
        [
          "destinations:create",
          "--org",
          "clidest",
          "--url",
          url,
          "--event-type",
          "tap.created",
          "--event-type",
          "webhook.disabled",
          "--description",
          "ops"
        ],
        env
      )
      expect(Exit.isSuccess(created.exit), created.output).toBe(true)
      const destination = json<Shown>(created.output)
      expect(destination).toMatchObject({
        kind: "nats",
        url: `nats://127.0.0.1:${nats.port}/CLI_TAPS`,
        enabled: true,
        eventTypes: ["tap.created", "webhook.disabled"]
      })
      // Printed as the API sends it (no Option objects), and never the password.
      expect(created.output).not.toContain(USER.password)
      expect(created.output).not.toContain('"_id"')

      // Refused: plaintext Kafka (the API's reason), and a URL that is no broker's (before any request).
      const kafka = await runInProcess(
        ["destinations:create", "--org", "clidest", "--url", "kafka://kafka.example.com:9092/taps"],
        env
      )
      expect(Exit.isFailure(kafka.exit)).toBe(true)
      expect(JSON.stringify(kafka.exit)).toContain("kafka+tls://")
      const https = await runInProcess(
        ["destinations:create", "--org", "clidest", "--url", "https://x.example/"],
        env
      )
      expect(JSON.stringify(https.exit)).toContain("a broker URL starting kafka+tls://")

      // Test: waits for the broker's acknowledgement, and says so.
      const tested = await runInProcess(["destinations:test", "--org", "clidest", destination.id], env)
      expect(Exit.isSuccess(tested.exit), tested.output).toBe(true)
      expect(json(tested.output)).toMatchObject({ status: "succeeded", lastError: null })
      expect(tested.exitCode).not.toBe(2)

      const listed = await runInProcess(["destinations:list", "--org", "clidest"], env)
      const [shown] = json<ReadonlyArray<Shown>>(listed.output)
      expect(shown).toMatchObject({ id: destination.id, delivered: 1 })

      const disabled = await runInProcess(["destinations:disable", "--org", "clidest", destination.id], env)
      expect(json(disabled.output)).toMatchObject({ id: destination.id, enabled: false })
      const enabled = await runInProcess(["destinations:enable", "--org", "clidest", destination.id], env)
      expect(json(enabled.output)).toMatchObject({ id: destination.id, enabled: true })
      const redriven = await runInProcess(["destinations:redrive", "--org", "clidest", destination.id], env)
      expect(json(redriven.output)).toEqual({ requeued: 0 })

      // A broker that is not there: the test is not delivered within its wait, exit code 2, and the reason.
      const nowhere = await runInProcess(
        ["destinations:create", "--org", "clidest", "--url", `nats://127.0.0.1:${await freePort()}/GONE`],
        env
      )
      const gone = json<Shown>(nowhere.output)
      const failing = await runInProcess(
        ["destinations:test", "--org", "clidest", "--wait", "5", gone.id],
        env
      )
      expect(failing.exitCode).toBe(2)
      expect(json(failing.output)).toMatchObject({ status: expect.not.stringMatching(/^succeeded$/) })

      // The one spawned CLI: main.ts mounts the commands, and its output is the same JSON.
      const spawned = await runCli(["destinations:list", "--org", "clidest"], {
        TAPLINE_URL: server.url,
        TAPLINE_API_KEY: key
      })
      expect(spawned.code, spawned.output).toBe(0)
      expect(
        json<ReadonlyArray<Shown>>(spawned.output)
          .map((d) => d.id)
          .sort()
      ).toEqual([destination.id, gone.id].sort())
      expect(spawned.output).not.toContain(USER.password)
    } finally {
      await stopCleanly(server)
      await deletePrefix(prefix)
      await database.drop()
    }
  }, 240_000)
})
