import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type PostgresServer, startPostgresServer } from "@tapline/testing/postgresServer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMigrate } from "./support/ServerProcess.js"

/*
 * TLS to PostgreSQL (DESIGN §7) against a real server of the test's own: ssl=on with a certificate from a CA
 * made here, and pg_hba.conf admitting TCP clients over TLS only, with a password. `pnpm migrate` (the built
 * process) is the client: it opens the same pool the server does and exits, so each case is one short run.
 */

const PASSWORD = "tls-hunter2-secret"
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-pg-tls-"))
const file = (name: string) => Path.join(dir, name)
const openssl = (...args: ReadonlyArray<string>) => execFileSync("openssl", args, { stdio: "pipe" })

/** A CA of its own: a self-signed certificate allowed to sign others. */
const makeCa = (name: string) => {
  openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", "2", "-subj", `/CN=${name}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
  )
  return file(`${name}.crt`)
}

let server: PostgresServer
let caFile: string
let otherCaFile: string

beforeAll(async () => {
  caFile = makeCa("tapline-test-ca")
  otherCaFile = makeCa("some-other-ca")
  // The server's certificate names 127.0.0.1 (and localhost), signed by the first CA.
  openssl(
    ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1"]
  )
  Fs.writeFileSync(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
  )
  openssl(
    ...["x509", "-req", "-in", file("server.csr"), "-CA", caFile, "-CAkey", file("tapline-test-ca.key")],
    ...["-CAcreateserial", "-days", "2", "-out", file("server.crt"), "-extfile", file("server.ext")]
  )
  server = await startPostgresServer({
    // 127.0.0.2 reaches the same server under a name its certificate does not list.
    listenAddresses: ["127.0.0.2"],
    settings: ["ssl=on", "ssl_cert_file=server.crt", "ssl_key_file=server.key"],
    files: {
      "server.crt": Fs.readFileSync(file("server.crt")),
      "server.key": Fs.readFileSync(file("server.key")),
      "pg_hba.conf": [
        "local all all trust",
        "hostssl all all 127.0.0.0/8 scram-sha-256",
        "hostnossl all all 127.0.0.0/8 reject",
        ""
      ].join("\n")
    }
  })
  const admin = await server.admin()
  try {
    await admin.query(`create role tapline login password '${PASSWORD}'`)
    await admin.query("create database tapline owner tapline")
  } finally {
    await admin.end()
  }
}, 120_000)

afterAll(async () => {
  await server?.dispose()
  Fs.rmSync(dir, { recursive: true, force: true })
})

const urlAt = (host: string) => `postgres://tapline:${PASSWORD}@${host}:${server.port}/tapline`

/** A refused start: exit 1, one line on the output, no stack frames, no password. */
const expectOneLineRefusal = (run: { code: number | null; output: string }) => {
  expect(run.code, run.output).toBe(1)
  const lines = run.output.trim().split("\n")
  expect(lines, run.output).toHaveLength(1)
  expect(run.output).not.toMatch(/^\s+at /m)
  expect(run.output).not.toContain(PASSWORD)
  return lines[0]!
}

describe("PostgreSQL over TLS (DATABASE_SSL=verify-full)", () => {
  it("connects when the certificate names the host and chains to DATABASE_SSL_ROOT_CERT", async () => {
    const run = await runMigrate({
      DATABASE_URL: urlAt("127.0.0.1"),
      DATABASE_SSL: "verify-full",
      DATABASE_SSL_ROOT_CERT: caFile
    })
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain("database is up to date")
    expect(run.output).not.toContain(PASSWORD)
  }, 120_000)

  it("the server takes TCP clients over TLS only: without it the server itself refuses", async () => {
    const line = expectOneLineRefusal(await runMigrate({ DATABASE_URL: urlAt("127.0.0.1") }))
    expect(line).toMatch(/^Tapline failed to start: PostgreSQL unreachable at 127\.0\.0\.1:\d+\/tapline: /)
    expect(line).toContain("no encryption")
  }, 60_000)

  it("refuses a certificate that does not name the host, saying so in one line", async () => {
    const line = expectOneLineRefusal(
      await runMigrate({
        DATABASE_URL: urlAt("127.0.0.2"),
        DATABASE_SSL: "verify-full",
        DATABASE_SSL_ROOT_CERT: caFile
      })
    )
    expect(line).toMatch(
      /^Tapline failed to start: PostgreSQL at 127\.0\.0\.2:\d+\/tapline failed the TLS check \(DATABASE_SSL=verify-full\): /
    )
    expect(line).toContain("the certificate does not name 127.0.0.2")
  }, 60_000)

  it("refuses a certificate from another CA (or from none given), naming DATABASE_SSL_ROOT_CERT", async () => {
    for (const root of [{ DATABASE_SSL_ROOT_CERT: otherCaFile }, {}]) {
      const line = expectOneLineRefusal(
        await runMigrate({ DATABASE_URL: urlAt("127.0.0.1"), DATABASE_SSL: "verify-full", ...root })
      )
      expect(line, JSON.stringify(root)).toMatch(
        /^Tapline failed to start: PostgreSQL at 127\.0\.0\.1:\d+\/tapline failed the TLS check \(DATABASE_SSL=verify-full\): /
      )
      expect(line).toContain("not signed by a CA in DATABASE_SSL_ROOT_CERT")
    }
  }, 60_000)

  it("an sslmode in DATABASE_URL cannot switch verify-full off: the variable is refused, naming itself", async () => {
    // pg reads sslmode from the URL over the ssl option it is given, so `?sslmode=disable` would quietly
    // send the password in the clear (here the server refuses; a laxer one would take it).
    const line = expectOneLineRefusal(
      await runMigrate({
        DATABASE_URL: `${urlAt("127.0.0.1")}?sslmode=disable`,
        DATABASE_SSL: "verify-full",
        DATABASE_SSL_ROOT_CERT: caFile
      })
    )
    expect(line).toMatch(/^Invalid configuration: DATABASE_URL: /)
    expect(line).toContain("DATABASE_SSL")
  }, 60_000)
})
