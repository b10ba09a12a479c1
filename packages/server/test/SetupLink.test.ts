import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Layer, Logger, Option } from "effect"
import { AppConfig } from "../src/Config/AppConfig.js"
import { hashSecret } from "../src/Crypto/Tokens.js"
import * as FirstRun from "../src/Setup/FirstRun.js"
import * as SetupTokens from "../src/Setup/SetupTokens.js"
import { bootstrapKey, call } from "./support/AdminClient.js"
import { adminHarness } from "./support/AdminHarness.js"
import { MigratedDatabase } from "./support/TestDatabase.js"

/*
 * First run (issue 29): the one-time setup link's lifecycle on a real database (made, checked, used once,
 * expired, refused once a user exists, stored as a hash only), the link the server leaves at start (printed
 * when embedded, an owner-only file otherwise, never logged), and the public routes over HTTP.
 */

const origin = new URL("http://localhost:3999")

/** Every log message and annotation, to show that the token never reaches the logger. */
const logged: Array<string> = []
const capture = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ annotations, message }) => {
    logged.push(JSON.stringify({ message, annotations: [...annotations] }))
  })
)

const configWith = (values: Record<string, string>) =>
  AppConfig.layer.pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(values)))))
  )

const closedReason = (effect: Effect.Effect<unknown, unknown, SqlClient.SqlClient>) =>
  Effect.map(Effect.either(effect), (result) =>
    Either.isLeft(result) && (result.left as { _tag?: string })._tag === "SetupClosed"
      ? (result.left as { message: string }).message
      : "not refused"
  )

const redeemOnce = (token: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(SetupTokens.redeem(token)))

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-setup-"))

layer(MigratedDatabase, { excludeTestServices: true, timeout: 60_000 })("setup links", (it) => {
  it.effect("a link is made with its lifetime, stored only as its hash, and works once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const issued = Option.getOrThrow(yield* SetupTokens.issue(Duration.hours(24), "server"))
      expect(issued.token).toMatch(/^tsu_[A-Za-z0-9_-]{43}$/)
      const [row] = yield* sql<{ tokenHash: Uint8Array; hours: number }>`
        select token_hash, extract(epoch from expires_at - created_at) / 3600 as hours
        from setup_tokens where token_hash = ${hashSecret(issued.token)}`
      expect(Number(row!.hours)).toBe(24)
      const everything = yield* sql<{ text: string }>`select t::text as text from setup_tokens t`
      expect(everything.map((r) => r.text).join("\n")).not.toContain(issued.token.slice(4))

      yield* SetupTokens.check(issued.token)
      yield* redeemOnce(issued.token)
      expect(yield* closedReason(redeemOnce(issued.token))).toMatch(/expired or was already used/)
      expect(yield* closedReason(SetupTokens.check(issued.token))).toMatch(/expired or was already used/)
      expect(yield* closedReason(SetupTokens.check(`tsu_${"A".repeat(43)}`))).toMatch(/expired/)
    })
  )

  it.effect("a link past its lifetime is refused", () =>
    Effect.gen(function* () {
      // Zero lifetime: it expires the moment it is stored, so no clock needs to move.
      const issued = Option.getOrThrow(yield* SetupTokens.issue(Duration.zero, "cli"))
      expect(yield* closedReason(SetupTokens.check(issued.token))).toMatch(/expired/)
      expect(yield* closedReason(redeemOnce(issued.token))).toMatch(/expired/)
    })
  )

  it.effect(
    "off the embedded database the link goes to <data dir>/setup-link, 0600, and never to the logger",
    () =>
      Effect.gen(function* () {
        const dataDir = tempDir()
        const notice = yield* FirstRun.prepare(origin).pipe(
          Effect.provide(
            configWith({ DATABASE_URL: "postgres://unused@127.0.0.1:1/x", TAPLINE_DATA_DIR: dataDir })
          )
        )
        const file = Path.join(dataDir, "setup-link")
        expect(Option.getOrThrow(notice)).toEqual({ kind: "file", file })
        expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
        const link = Fs.readFileSync(file, "utf8").split("\n")[0]!
        expect(link).toMatch(/^http:\/\/localhost:3999\/setup#token=tsu_[A-Za-z0-9_-]{43}$/)
        const token = link.split("#token=")[1]!
        yield* SetupTokens.check(token)
        expect(logged.join("\n")).not.toContain(token)
        // A link file made before (by another instance, or with a wider mode) is replaced, still owner-only.
        Fs.chmodSync(file, 0o644)
        yield* FirstRun.prepare(origin).pipe(
          Effect.provide(
            configWith({ DATABASE_URL: "postgres://unused@127.0.0.1:1/x", TAPLINE_DATA_DIR: dataDir })
          )
        )
        expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
        expect(Fs.readFileSync(file, "utf8")).not.toContain(token)
      }).pipe(Effect.provide(capture))
  )

  it.effect("a data folder the link cannot be written to does not stop the start: the banner says so", () =>
    Effect.gen(function* () {
      const blocker = Path.join(tempDir(), "not-a-folder")
      Fs.writeFileSync(blocker, "")
      const notice = yield* FirstRun.prepare(origin).pipe(
        Effect.provide(
          configWith({ DATABASE_URL: "postgres://unused@127.0.0.1:1/x", TAPLINE_DATA_DIR: blocker })
        )
      )
      expect(Option.getOrThrow(notice)).toMatchObject({
        kind: "unwritable",
        file: Path.join(blocker, "setup-link")
      })
    })
  )

  it.effect("the embedded server gets the link itself and writes no file", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const notice = yield* FirstRun.prepare(origin).pipe(
        Effect.provide(configWith({ TAPLINE_DATA_DIR: dataDir }))
      )
      const value = Option.getOrThrow(notice)
      expect(value.kind).toBe("link")
      expect(Fs.existsSync(Path.join(dataDir, "setup-link"))).toBe(false)
    })
  )

  it.effect("once a user exists no link is made, none works, and a left-over link file is removed", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const waiting = Option.getOrThrow(yield* SetupTokens.issue(Duration.hours(1), "server"))
      const dataDir = tempDir()
      const config = configWith({
        DATABASE_URL: "postgres://unused@127.0.0.1:1/x",
        TAPLINE_DATA_DIR: dataDir
      })
      yield* FirstRun.prepare(origin).pipe(Effect.provide(config))
      expect(Fs.existsSync(Path.join(dataDir, "setup-link"))).toBe(true)

      yield* sql`insert into users (email, name, platform_role) values ('first@example.com', '', 'CUSTOMER')`
      expect(yield* SetupTokens.isOpen).toBe(false)
      expect(Option.isNone(yield* SetupTokens.issue(Duration.hours(1), "cli"))).toBe(true)
      expect(yield* closedReason(SetupTokens.check(waiting.token))).toMatch(/already set up/)
      expect(yield* closedReason(redeemOnce(waiting.token))).toMatch(/already set up/)
      expect(Option.isNone(yield* FirstRun.prepare(origin).pipe(Effect.provide(config)))).toBe(true)
      expect(Fs.existsSync(Path.join(dataDir, "setup-link"))).toBe(false)
    })
  )
})

const issueLink = Effect.map(SetupTokens.issue(Duration.hours(1), "server"), Option.getOrThrow)
const bogusCredential = { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "e30" } }

describe("setup over HTTP", () => {
  layer(adminHarness({ PUBLIC_URL: "http://localhost:3998" }), {
    excludeTestServices: true,
    timeout: 60_000
  })("first run", (it) => {
    it.effect("while no user exists: the page, the status, and passkey options for a valid link only", () =>
      Effect.gen(function* () {
        expect((yield* call("GET", "/api/v1/setup")).body).toEqual({ open: true, demoOrganization: null })
        const page = yield* call("GET", "/setup")
        expect(page.status).toBe(200)
        expect(page.text).toContain("Set up Tapline")
        expect(page.headers.get("referrer-policy")).toBe("no-referrer")

        const { token } = yield* issueLink
        const person = { token, email: "first@example.com", name: "First" }
        const options = yield* call("POST", "/api/v1/setup/registration-options", { body: person })
        expect(options.status).toBe(200)
        expect(options.body.rp).toEqual({ name: "Tapline", id: "localhost" })
        expect(options.body.user.name).toBe("first@example.com")

        const unknown = { ...person, token: `tsu_${"B".repeat(43)}` }
        const refused = yield* call("POST", "/api/v1/setup/registration-options", { body: unknown })
        expect(refused.status).toBe(410)
        expect(refused.body._tag).toBe("SetupClosed")
        const malformed = yield* call("POST", "/api/v1/setup/registration-options", {
          body: { ...person, token: "not-a-token" }
        })
        expect(malformed.status).toBe(400)

        // A credential that proves nothing is refused, and leaves the link usable.
        const body = { ...person, organization: { kind: "demo" }, credential: bogusCredential }
        expect((yield* call("POST", "/api/v1/setup", { body })).status).toBe(400)
        yield* SetupTokens.check(token)
      })
    )

    it.effect("after the first user: 410 from the page and every setup route, never a 5xx", () =>
      Effect.gen(function* () {
        const { token } = yield* issueLink
        yield* bootstrapKey("someone@example.com")
        expect((yield* call("GET", "/api/v1/setup")).body).toEqual({ open: false, demoOrganization: null })
        const page = yield* call("GET", "/setup")
        expect(page.status).toBe(410)
        expect(page.text).toContain("/sign-in")
        const person = { token, email: "late@example.com" }
        const options = yield* call("POST", "/api/v1/setup/registration-options", { body: person })
        expect(options.status).toBe(410)
        expect(options.body.message).toMatch(/already set up/)
        const body = { ...person, organization: { kind: "demo" }, credential: bogusCredential }
        expect((yield* call("POST", "/api/v1/setup", { body })).status).toBe(410)
      })
    )
  })
})
