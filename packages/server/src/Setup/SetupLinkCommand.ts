import { Effect, Layer, Option } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import * as Database from "../Database/Database.js"
import { runningServerUrl } from "../Embedded/EmbeddedPostgres.js"
import * as SetupTokens from "./SetupTokens.js"

/**
 * The database `tapline setup:link` writes to: DATABASE_URL's, or the running embedded server's, reached on
 * the loopback socket it recorded (owner-only) in the data folder. Never through an HTTP route: whoever can
 * read the data folder or the database's credentials could make the first user anyway.
 */
const commandDatabase = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (Option.isSome(config.database.url)) return Database.layer
    const url = runningServerUrl(config.embedded.dataDir)
    if (url === undefined) {
      return yield* Effect.fail(
        new Error(
          `no Tapline server is running on ${config.embedded.dataDir} (and no DATABASE_URL): start it ` +
            "(pnpm quickstart); while no user exists it prints a setup link itself"
        )
      )
    }
    const { database } = config
    return Database.layerPool({
      url,
      poolMax: 1,
      connectTimeout: database.connectTimeout,
      applicationName: `${database.applicationName}-cli`,
      ssl: false,
      sessionTimeouts: Option.none()
    })
  })
)

/** A fresh setup link (SETUP_LINK_TTL), or a failure saying why there is none. */
export const issueLink = Effect.gen(function* () {
  const config = yield* AppConfig
  const issued = yield* SetupTokens.issue(config.auth.setupLinkTtl, "cli")
  const origin = publicOrigin(config)
  if (Option.isNone(issued)) {
    return yield* Effect.fail(
      new Error(
        `Tapline is already set up (a user exists): sign in at ${new URL("/sign-in", origin)}; ` +
          "a platform admin or organisation owner invites everyone else"
      )
    )
  }
  return { link: SetupTokens.setupUrl(origin, issued.value.token), expiresAt: issued.value.expiresAt }
}).pipe(Effect.provide(commandDatabase))
