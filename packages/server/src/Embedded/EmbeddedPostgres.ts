import * as Fs from "node:fs"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Data, Duration, Effect } from "effect"
import { writeOwnerOnly } from "./OwnerOnlyFile.js"

/** In the data folder while the embedded server runs: its pid and the loopback URL of its database. */
export const EMBEDDED_ADDRESS_FILE = "postgres.json"

/** The running embedded server's database URL, if one runs on this data folder. */
export const runningServerUrl = (dataDir: string): string | undefined => {
  try {
    const recorded = JSON.parse(
      Fs.readFileSync(Path.join(Path.resolve(dataDir), EMBEDDED_ADDRESS_FILE), "utf8")
    )
    return typeof recorded.url === "string" && Number.isInteger(recorded.pid) && isAlive(recorded.pid)
      ? recorded.url
      : undefined
  } catch {
    return undefined
  }
}

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddedPostgres {
  readonly url: string
  readonly dataDir: string
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** PGlite has no lock of its own: two processes on one folder would corrupt it. */
const acquireLock = (lockFile: string) =>
  Effect.try({
    try: () => {
      const holder = Fs.existsSync(lockFile) ? Number(Fs.readFileSync(lockFile, "utf8")) : Number.NaN
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new Error(`another Tapline process (pid ${holder}) is using ${Path.dirname(lockFile)}`)
      }
      Fs.writeFileSync(lockFile, String(process.pid))
    },
    catch: (cause) =>
      new EmbeddedPostgresError({ message: cause instanceof Error ? cause.message : String(cause), cause })
  })

/**
 * A real PostgreSQL (PGlite, PostgreSQL compiled to WebAssembly) served on a loopback port, so the same
 * `pg` driver, migrations and SQL run unmodified. Data lives in `dataDir/pg` and survives restarts.
 * The socket server multiplexes connections onto one backend and holds other connections' queries while a
 * transaction is open, so transactions stay isolated; session settings are shared, which is why embedded
 * mode sets no per-connection timeouts.
 */
export const startEmbeddedPostgres = (dataDir: string, maxConnections: number) =>
  Effect.gen(function* () {
    const root = Path.resolve(dataDir)
    yield* Effect.try({
      try: () => Fs.mkdirSync(root, { recursive: true }),
      catch: (cause) => new EmbeddedPostgresError({ message: `cannot create data folder ${root}`, cause })
    })
    const lockFile = Path.join(root, "tapline.lock")
    yield* Effect.acquireRelease(acquireLock(lockFile), () =>
      Effect.sync(() => Fs.rmSync(lockFile, { force: true }))
    )
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create({ dataDir: Path.join(root, "pg"), extensions: { btree_gist } }),
        catch: (cause) => new EmbeddedPostgresError({ message: "embedded PostgreSQL failed to start", cause })
      }),
      (db) =>
        Effect.promise(() => db.close()).pipe(
          Effect.timed,
          Effect.flatMap(([took]) =>
            Effect.logInfo("embedded PostgreSQL closed").pipe(
              Effect.annotateLogs({ ms: Math.round(Duration.toMillis(took)) })
            )
          ),
          Effect.ignore
        )
    )
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) =>
          new EmbeddedPostgresError({ message: "embedded PostgreSQL could not listen", cause })
      }),
      // Its close waits for every client to hang up; one the pool could not end in time would hold the stop
      // until SHUTDOWN_TIMEOUT kills the process with the database still open.
      () =>
        Effect.promise(() => server.stop()).pipe(
          Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "timed out" as const }),
          Effect.catchAll(() =>
            Effect.logWarning("embedded PostgreSQL: clients still connected after 3 s; closing the database")
          )
        )
    )
    const address = (server as unknown as { server: import("node:net").Server }).server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`
    // For operator commands run beside the server (`tapline setup:link`): the data folder is locked, the
    // socket is how they reach the same database. Owner-only, and gone when the server stops.
    const addressFile = Path.join(root, EMBEDDED_ADDRESS_FILE)
    yield* Effect.acquireRelease(
      Effect.try({
        try: () => writeOwnerOnly(addressFile, `${JSON.stringify({ pid: process.pid, url })}\n`),
        catch: (cause) => new EmbeddedPostgresError({ message: `cannot write ${addressFile}`, cause })
      }),
      () => Effect.sync(() => Fs.rmSync(addressFile, { force: true }))
    )
    return { url, dataDir: root } satisfies EmbeddedPostgres
  })
