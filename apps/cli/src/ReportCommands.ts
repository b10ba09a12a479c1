import * as Fs from "node:fs"
import { Args, Command, Options } from "@effect/cli"
import { ReportSignature } from "@tapline/server"
import { Console, Effect } from "effect"

/*
 * `tapline report:verify FILE --key KEYS` (issue 35): checks a signed sponsor report offline, with no server and
 * no configuration. KEYS is a PEM file (an Ed25519 public key, or several) or the JSON document of
 * `/.well-known/tapline/report-keys.json`. Exit 0 and "valid (key <id>)"; 1 when the signature does not hold
 * (the report or its signature was changed, or another key signed it); 2 when the files cannot be read.
 */

const read = (path: string, what: string) =>
  Effect.try({
    try: () => Fs.readFileSync(path, "utf8"),
    catch: (error) =>
      `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`
  })

const verify = Command.make(
  "report:verify",
  {
    file: Args.file({ name: "FILE", exists: "either" }).pipe(Args.withDescription("the report's JSON file")),
    key: Options.file("key").pipe(
      Options.withDescription(
        "the public key: a PEM file, or the keys JSON of /.well-known/tapline/report-keys.json"
      )
    )
  },
  ({ file, key }) =>
    Effect.gen(function* () {
      const document = yield* read(file, "report")
      const keysText = yield* read(key, "key file")
      const keys = yield* Effect.try({
        try: () => ReportSignature.trustedKeys(keysText),
        catch: (error) => `the key file ${key}: ${(error as Error).message}`
      })
      const parsed = yield* Effect.try({
        try: () => JSON.parse(document) as unknown,
        catch: () => `the report ${file} is not JSON`
      })
      const verdict = ReportSignature.verifySigned(parsed, keys)
      if (verdict.valid) {
        yield* Console.log(`valid (key ${verdict.keyId})`)
      } else {
        yield* Console.error(`invalid: ${verdict.reason}`)
        yield* Effect.sync(() => (process.exitCode = 1))
      }
    }).pipe(
      Effect.catchAll((reason) =>
        Effect.zipRight(
          Console.error(`cannot verify: ${reason}`),
          Effect.sync(() => (process.exitCode = 2))
        )
      )
    )
).pipe(
  Command.withDescription("Check a signed report offline: exit 0 when valid, 1 when not, 2 when unreadable.")
)

export const reportCommands = [verify]
