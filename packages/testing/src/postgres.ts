import Pg from "pg"
import { adminUrl, runId } from "./env.js"

let counter = 0

const withClient = async <A>(url: string, f: (client: Pg.Client) => Promise<A>): Promise<A> => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase {
  readonly name: string
  readonly url: string
  readonly query: <R>(text: string) => Promise<Array<R>>
  readonly drop: () => Promise<void>
}

/** An empty database of its own; `drop` removes it, connections and all. */
export const createDatabase = async (label = "test"): Promise<TestDatabase> => {
  const name = `tapline_${label}_${runId}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`
  await withClient(adminUrl, (client) => client.query(`create database "${name}"`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    query: (text) => withClient(url.toString(), async (client) => (await client.query(text)).rows),
    drop: () =>
      withClient(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`)).then(
        () => {}
      )
  }
}
