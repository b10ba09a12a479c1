import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option } from "effect"
import Pg from "pg"
import { layerPool, migrate } from "../../src/Database/Database.js"

/** The server the suite may create databases on; `.ci/run` and `pnpm test:all` export it. */
export const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export const runId = process.env.TAPLINE_TEST_RUN ?? `${process.pid}`

let counter = 0

const withAdmin = async <A>(f: (client: Pg.Client) => Promise<A>): Promise<A> => {
  const client = new Pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

const databaseUrl = (name: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A fresh, empty database of its own, dropped when the scope closes. */
export const freshDatabase = Effect.acquireRelease(
  Effect.promise(async () => {
    const name = `tapline_test_${runId}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`
    await withAdmin((client) => client.query(`create database "${name}"`))
    return { name, url: databaseUrl(name) }
  }),
  ({ name }) =>
    Effect.promise(() =>
      withAdmin((client) => client.query(`drop database if exists "${name}" with (force)`))
    )
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
