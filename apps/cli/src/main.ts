import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Command, Options, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Email } from "@tapline/domain"
import {
  ApiKeys,
  AppConfig,
  Audit,
  Bootstrap,
  Logging,
  OAuthProviders,
  Projector,
  Runtime,
  reencryptWebhookSecrets,
  SecretBox,
  SetupLinkCommand,
  Storage,
  Totp,
  Users,
  WebhookRepository
} from "@tapline/server"
import { Chunk, Console, Effect, Layer, Option, Stream } from "effect"
import { adminCommands } from "./AdminCommands.js"
import { destinationCommands } from "./DestinationCommands.js"
import { journeyCommands } from "./JourneyCommands.js"
import { pushCommands } from "./PushCommands.js"
import { registrantCommands } from "./RegistrantCommands.js"
import { reportCommands } from "./ReportCommands.js"

/*
 * `pnpm tapline <command>`: operator commands that run beside the servers, against the same configuration
 * (environment variables). The admin API's typed client joins here once the admin API exists.
 */

const ReadModelLive = Runtime.CommandReadModelLive

const DatabaseLive = Runtime.DatabaseLive

const rebuild = Command.make("readmodel:rebuild", {}, () =>
  Effect.gen(function* () {
    const projector = yield* Projector
    const started = Date.now()
    const result = yield* projector.rebuild({ onlyStale: false })
    yield* Console.log(JSON.stringify({ ...result, milliseconds: Date.now() - started }))
  }).pipe(Effect.provide(ReadModelLive))
).pipe(
  Command.withDescription("Rebuild the hot path's Redis read model from PostgreSQL, for every organisation.")
)

const status = Command.make("readmodel:status", {}, () =>
  Effect.gen(function* () {
    const projector = yield* Projector
    const result = yield* projector.status
    yield* Console.log(JSON.stringify(result))
    if (result.stale.length > 0) yield* Effect.sync(() => (process.exitCode = 2))
  }).pipe(Effect.provide(ReadModelLive))
).pipe(
  Command.withDescription(
    "Compare the read model with PostgreSQL; exit code 2 when an organisation is stale."
  )
)

const bootstrap = Command.make(
  "admin:bootstrap",
  {
    email: Options.text("email").pipe(Options.withSchema(Email), Options.withDescription("the admin's email"))
  },
  ({ email }) =>
    Effect.gen(function* () {
      const result = yield* Bootstrap.bootstrapAdmin(email)
      yield* Console.log(`platform ADMIN ${email} (user ${result.userId})`)
      yield* Console.log("API key (shown once; use it as `Authorization: Bearer <key>`):")
      yield* Console.log(result.secret)
    }).pipe(
      Effect.provide(
        Layer.merge(ApiKeys.ApiKeyRepository.Default, Users.Default).pipe(Layer.provideMerge(Audit.Default))
      ),
      Effect.provide(DatabaseLive)
    )
).pipe(
  Command.withDescription(
    "Make EMAIL a platform ADMIN (creating the user) and print a new personal API key for it, once."
  )
)

const rotateSecrets = Command.make("secrets:rotate", {}, () =>
  Effect.gen(function* () {
    const box = yield* SecretBox.SecretBox
    const totpSeeds = yield* (yield* Totp).reencryptSeeds
    const oauthClientSecrets = yield* (yield* OAuthProviders).reencryptSecrets
    const webhookSecrets = yield* reencryptWebhookSecrets
    yield* Console.log(
      JSON.stringify({
        currentKey: box.currentKeyId,
        reencrypted: { totpSeeds, oauthClientSecrets, webhookSecrets }
      })
    )
  }).pipe(
    Effect.provide([Totp.Default, OAuthProviders.Default, WebhookRepository.Default]),
    Effect.provide(SecretBox.layer),
    Effect.provide(DatabaseLive)
  )
).pipe(
  Command.withDescription(
    "Re-encrypt every stored secret under the first key of TAPLINE_ENCRYPTION_KEYS; then older keys can go."
  )
)

/** Objects the check writes live under an organisation id no tenant can have. */
const CHECK_ORGANIZATION = "00000000-0000-0000-0000-000000000000"

const storageCheck = Command.make("storage:check", {}, () =>
  Effect.gen(function* () {
    const storage = yield* Storage.Storage
    const key = Storage.organizationKey(CHECK_ORGANIZATION, "checks", `${Date.now()}-${process.pid}.txt`)
    const body = `tapline storage check ${new Date().toISOString()}\n`
    const steps: Record<string, string> = {}
    const started = Date.now()
    const stored = yield* storage.put(key, Stream.make(new TextEncoder().encode(body)), {
      contentType: "text/plain"
    })
    steps.put = `ok, ${stored.size} bytes`
    const read = yield* Effect.flatMap(storage.get(key), (object) =>
      Stream.mkString(Stream.decodeText(object.stream))
    )
    steps.get = read === body ? "ok, same bytes" : "FAILED: read back other bytes"
    const url = yield* storage.presignGet(key, { expiresInSeconds: 60 })
    // A link is only useful if this machine can follow it; the local provider's links need the server running.
    const link = yield* Effect.tryPromise(() =>
      fetch(url).then(async (r) => ({ status: r.status, text: await r.text() }))
    ).pipe(Effect.either)
    steps.link =
      link._tag === "Left"
        ? `FAILED: ${url.split("?")[0]} is unreachable (${(link.left.error as Error).message})`
        : link.right.status === 200 && link.right.text === body
          ? "ok"
          : `FAILED: the link answered ${link.right.status}`
    // The uploads job lists the uploads/ prefix to sweep it: on S3 that takes the s3:ListBucket permission.
    const listed = yield* Stream.runCollect(storage.list(`org/${CHECK_ORGANIZATION}/checks/`)).pipe(
      Effect.either
    )
    steps.list =
      listed._tag === "Left"
        ? `FAILED: ${listed.left.message}`
        : Chunk.some(listed.right, (object) => object.key === key)
          ? "ok"
          : "FAILED: the listing does not show the object"
    yield* storage.remove(key)
    steps.remove = Option.isNone(yield* storage.head(key)) ? "ok" : "FAILED: the object is still there"
    const failed = Object.values(steps).some((step) => step.startsWith("FAILED"))
    yield* Console.log(
      JSON.stringify({
        provider: storage.provider,
        ok: !failed,
        ...steps,
        milliseconds: Date.now() - started
      })
    )
    if (failed) yield* Effect.sync(() => (process.exitCode = 1))
  }).pipe(Effect.provide(Runtime.StorageLive))
).pipe(
  Command.withDescription(
    "Write, read, link to, list and remove a small object in the configured storage (STORAGE_*); exit code 1 on any failure."
  )
)

const setupLink = Command.make("setup:link", {}, () =>
  Effect.gen(function* () {
    const { link, expiresAt } = yield* SetupLinkCommand.issueLink
    yield* Console.log(
      `Open this link in a browser to create the first admin (works once, until ${expiresAt.toISOString()}):`
    )
    yield* Console.log(link)
  })
).pipe(
  Command.withDescription(
    "While no user exists, print a fresh one-time setup link (DATABASE_URL, or the running embedded server)."
  )
)

export const tapline = Command.make("tapline").pipe(
  Command.withSubcommands([
    rebuild,
    status,
    bootstrap,
    rotateSecrets,
    storageCheck,
    setupLink,
    ...pushCommands,
    ...adminCommands,
    ...destinationCommands,
    ...registrantCommands,
    ...reportCommands,
    ...journeyCommands
  ])
)

/** A tagged error from the API names its kind and says what it carries; anything else its message. */
const describe = (error: unknown): string | null => {
  // @effect/cli has already printed a usage error, in words, above.
  if (ValidationError.isValidationError(error)) return null
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const { _tag, ...fields } = error as { _tag: string }
    const message = (error as { message?: unknown }).message
    return typeof message === "string" && message.length > 0
      ? `${_tag}: ${message}`
      : `${_tag} ${JSON.stringify(fields)}`
  }
  return error instanceof Error ? error.message : String(error)
}

const cli = Command.run(tapline, { name: "tapline", version: "0.0.0" })

/**
 * One run of the CLI on `argv` (node, script, arguments): a failure is said in one line on stderr and sets exit
 * code 1. Exported so tests can run commands in-process, without a Node start per command.
 */
export const program = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.provide(Logging.layer),
    Effect.provide(AppConfig.layer),
    Effect.catchAll((error) =>
      Effect.gen(function* () {
        const said = describe(error)
        if (said !== null) yield* Console.error(said)
        yield* Effect.sync(() => {
          process.exitCode = 1
        })
      })
    )
  )

/** Run as a program (`node dist/main.js`), not imported. */
const isEntry =
  process.argv[1] !== undefined &&
  Fs.existsSync(process.argv[1]) &&
  Fs.realpathSync(process.argv[1]) === Fs.realpathSync(fileURLToPath(import.meta.url))

/*
 * @effect/cli colours its help and errors with ANSI codes whatever the output is. Piped into a file or
 * another program (or with NO_COLOR set), they are noise: stripped here.
 */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")
if (isEntry) {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.isTTY && process.env.NO_COLOR === undefined) continue
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: Array<unknown>) => boolean
    stream.write = ((chunk: unknown, ...rest: Array<unknown>) =>
      write(typeof chunk === "string" ? chunk.replace(ANSI, "") : chunk, ...rest)) as typeof stream.write
  }

  program(process.argv).pipe(
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
}
