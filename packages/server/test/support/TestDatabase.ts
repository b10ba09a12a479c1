import { SqlClient } from "@effect/sql"
import { createDatabase } from "@tapline/testing/postgres"
import { Duration, Effect, Layer, Option } from "effect"
import { layerPool, migrate } from "../../src/Database/Database.js"

/** A fresh, empty database of its own, dropped when the scope closes. */
export const freshDatabase = Effect.acquireRelease(
  Effect.promise(() => createDatabase("test")),
  (database) => Effect.promise(() => database.drop())
)

export const poolOptions = (url: string) => ({
  url,
  poolMax: 5,
  connectTimeout: Duration.seconds(5),
  applicationName: "tapline-test",
  ssl: false as const,
  sessionTimeouts: Option.some({ statement: Duration.seconds(30), idleInTransaction: Duration.seconds(30) })
})

/** SqlClient on an empty database. */
export const EmptyDatabase = Layer.unwrapScoped(
  Effect.map(freshDatabase, ({ url }) => layerPool(poolOptions(url)))
)

/** SqlClient on a database with every migration applied. */
export const MigratedDatabase = Layer.effectDiscard(migrate).pipe(Layer.provideMerge(EmptyDatabase))

export const sqlClient = SqlClient.SqlClient
