import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option, Redacted } from "effect"
import { appConfig, requireMetricsToken } from "../src/Config/AppConfig.js"
import { describeConfigError } from "../src/Config/describeConfigError.js"

const load = (env: Record<string, string>) =>
  Effect.withConfigProvider(Effect.either(appConfig), ConfigProvider.fromMap(new Map(Object.entries(env))))

const errorLine = (env: Record<string, string>) =>
  Effect.map(load(env), (result) => (Either.isLeft(result) ? describeConfigError(result.left) : "no error"))

describe("configuration", () => {
  it.effect("has working defaults for every variable", () =>
    Effect.gen(function* () {
      const config = Either.getOrThrow(yield* load({}))
      expect(config.server.port).toBe(3000)
      expect(config.server.tapDomain).toBe("localhost")
      expect(config.server.maxBody).toBe(1024 * 1024)
      expect(Option.isNone(config.database.url)).toBe(true)
      expect(config.database.poolMax).toBe(10)
      expect(Duration.toMillis(config.database.statementTimeout)).toBe(30_000)
      expect(config.redis.keyPrefix).toBe("tapline:")
      expect(config.telemetry.logFormat).toBe("json")
    })
  )

  it.effect(
    "email providers: an ordered list, EMAIL_PROVIDER as the older one-name spelling, log by default",
    () =>
      Effect.gen(function* () {
        const providers = (env: Record<string, string>) =>
          Effect.map(load(env), (result) => Either.getOrThrow(result).email.providers)
        expect(yield* providers({})).toEqual(["log"])
        expect(yield* providers({ EMAIL_PROVIDER: "smtp" })).toEqual(["smtp"])
        expect(yield* providers({ EMAIL_PROVIDERS: " Resend, smtp ", EMAIL_PROVIDER: "log" })).toEqual([
          "resend",
          "smtp"
        ])
      })
  )

  it.effect("reads nested values and durations", () =>
    Effect.gen(function* () {
      const config = Either.getOrThrow(
        yield* load({
          PORT: "8080",
          TAP_DOMAIN: "tap.example",
          HTTP_MAX_BODY: "512KB",
          DATABASE_STATEMENT_TIMEOUT: "5 seconds",
          REDIS_MODE: "sentinel",
          REDIS_SENTINELS: "10.0.0.1:26379,[::1]:26380"
        })
      )
      expect(config.server.port).toBe(8080)
      expect(config.server.tapDomain).toBe("tap.example")
      expect(config.server.maxBody).toBe(512 * 1024)
      expect(Duration.toMillis(config.database.statementTimeout)).toBe(5000)
      expect(config.redis.sentinels).toEqual([
        { host: "10.0.0.1", port: 26379 },
        { host: "::1", port: 26380 }
      ])
    })
  )

  it.effect("a malformed value names its variable in one line", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<[Record<string, string>, string]> = [
        [{ PORT: "abc" }, "PORT"],
        [{ PORT: "70000" }, "PORT"],
        [{ DATABASE_POOL_MAX: "0" }, "DATABASE_POOL_MAX"],
        [{ DATABASE_SSL: "maybe" }, "DATABASE_SSL"],
        [{ DATABASE_STATEMENT_TIMEOUT: "soon" }, "DATABASE_STATEMENT_TIMEOUT"],
        [{ REDIS_MODE: "mesh" }, "REDIS_MODE"],
        [{ REDIS_SENTINELS: "nohost" }, "REDIS_SENTINELS"],
        [{ DEFAULT_REDIRECT_URL: "ftp://files.example" }, "DEFAULT_REDIRECT_URL"],
        [{ TAPLINE_DEMO: "perhaps" }, "TAPLINE_DEMO"],
        [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
        [{ EMAIL_PROVIDERS: "resend,carrier-pigeon" }, "EMAIL_PROVIDERS"],
        [{ EMAIL_PROVIDERS: "smtp,smtp" }, "EMAIL_PROVIDERS"],
        [{ EMAIL_PROVIDERS: " , " }, "EMAIL_PROVIDERS"],
        [{ EMAIL_PROVIDERS: "nope", EMAIL_PROVIDER: "smtp" }, "EMAIL_PROVIDERS"],
        [{ HTTP_MAX_BODY: "lots" }, "HTTP_MAX_BODY"],
        [{ HTTP_MAX_BODY: "0" }, "HTTP_MAX_BODY"],
        [{ HTTP_MAX_BODY: "1GB" }, "HTTP_MAX_BODY"]
      ]
      for (const [env, variable] of cases) {
        const line = yield* errorLine(env)
        expect(line, JSON.stringify(env)).toMatch(new RegExp(`^Invalid configuration: ${variable}: `))
        expect(line).not.toContain("\n")
      }
    })
  )

  it.effect(
    "metrics outside the embedded mode need METRICS_TOKEN or METRICS_ENABLED=false (issue 26, 7b)",
    () =>
      Effect.gen(function* () {
        const serving = (env: Record<string, string>) =>
          Effect.map(
            Effect.either(
              Effect.flatMap(load(env), (config) => requireMetricsToken(Either.getOrThrow(config)))
            ),
            (result) => (Either.isLeft(result) ? describeConfigError(result.left) : "no error")
          )
        const database = { DATABASE_URL: "postgres://tapline@db.internal/tapline" }
        expect(yield* serving(database)).toBe(
          "Invalid configuration: METRICS_TOKEN: required with DATABASE_URL while metrics are on; set it (scrapers " +
            "send it as a bearer token) or set METRICS_ENABLED=false"
        )
        // The CLI and migrations read the same variables without serving /metrics: no token asked there.
        expect(yield* errorLine(database)).toBe("no error")
        expect(yield* serving({ ...database, METRICS_TOKEN: "" })).toMatch(
          /^Invalid configuration: METRICS_TOKEN/
        )
        expect(yield* serving({ ...database, METRICS_TOKEN: "scrape-secret" })).toBe("no error")
        expect(yield* serving({ ...database, METRICS_ENABLED: "false" })).toBe("no error")
        // Embedded (a laptop, the demo): open by default, as before.
        expect(yield* serving({})).toBe("no error")
      })
  )

  it.effect("secrets stay redacted when the configuration is printed", () =>
    Effect.gen(function* () {
      const config = Either.getOrThrow(
        yield* load({
          DATABASE_URL: "postgres://app:db-secret-value@db.internal/tapline",
          REDIS_URL: "redis://:redis-secret-value@cache.internal:6379",
          REDIS_PASSWORD: "other-secret-value",
          METRICS_TOKEN: "metrics-secret-value"
        })
      )
      const printed = `${JSON.stringify(config)} ${String(config.database.url)} ${String(config.redis.password)}`
      expect(printed).not.toMatch(/secret-value/)
      expect(Redacted.value(Option.getOrThrow(config.database.url))).toContain("db-secret-value")
    })
  )
})
