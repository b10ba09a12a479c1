import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { sslOptions } from "../Database/Database.js"
import * as MemoryJobs from "./MemoryJobs.js"
import * as PgBossJobs from "./PgBossJobs.js"

/** pg-boss on the configured PostgreSQL; the memory queue when the database is the embedded one. */
export const layerFromConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ database }) =>
    Option.match(database.url, {
      onNone: () => MemoryJobs.layer,
      onSome: (url) =>
        PgBossJobs.layer({ connectionString: Redacted.value(url), ssl: sslOptions(database), poolMax: 4 })
    })
  )
)
