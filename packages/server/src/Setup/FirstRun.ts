import * as Fs from "node:fs"
import * as Path from "node:path"
import { Effect, Option } from "effect"
import { AppConfig, isEmbedded } from "../Config/AppConfig.js"
import { writeOwnerOnly } from "../Embedded/OwnerOnlyFile.js"
import * as SetupTokens from "./SetupTokens.js"

/** Where the server leaves the setup link when it has a database of its own (not embedded). */
export const SETUP_LINK_FILE = "setup-link"

/** How the banner tells the operator where the setup link is: the link itself, or the file holding it. */
export type SetupNotice =
  | { readonly kind: "link"; readonly link: string }
  | { readonly kind: "file"; readonly file: string }
  | { readonly kind: "unwritable"; readonly file: string; readonly reason: string }

/**
 * At start, while no user exists: a fresh setup link. The embedded server shows it in its banner (one person
 * on their own machine); a server on its own database writes it to `<data dir>/setup-link` (the banner shows
 * the path), because its standard output usually ends up in a shared log. Never logged. Once a user exists,
 * a link file left from before is removed.
 */
export const prepare = (origin: URL) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const file = Path.resolve(config.embedded.dataDir, SETUP_LINK_FILE)
    const issued = yield* SetupTokens.issue(config.auth.setupLinkTtl, "server")
    if (Option.isNone(issued)) {
      yield* Effect.sync(() => Fs.rmSync(file, { force: true }))
      return Option.none<SetupNotice>()
    }
    const link = SetupTokens.setupUrl(origin, issued.value.token)
    if (isEmbedded(config)) return Option.some<SetupNotice>({ kind: "link", link })
    // A folder it cannot write to does not stop the server: the banner says so, and setup:link still works.
    const written = yield* Effect.try(() =>
      writeOwnerOnly(file, `${link}\n# works once, until ${issued.value.expiresAt.toISOString()}\n`)
    ).pipe(Effect.either)
    if (written._tag === "Left") {
      const cause = written.left.error as NodeJS.ErrnoException
      return Option.some<SetupNotice>({ kind: "unwritable", file, reason: cause.code ?? "error" })
    }
    return Option.some<SetupNotice>({ kind: "file", file })
  })
