import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { runCliInProcess } from "./support/CliInProcess.js"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { apiCaller, runCli, startServer, stopCleanly, waitUntilReady } from "./support/ServerProcess.js"

const rawGet = (port: number, path: string, host: string) =>
  new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    const request = Http.request(
      { host: "127.0.0.1", port, path, headers: { host, "user-agent": "Mozilla/5.0 (iPhone)" } },
      (res) => {
        res.resume()
        res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }))
      }
    )
    request.on("error", reject)
    request.end()
  })

const OLD_KEY = Buffer.alloc(32, 7).toString("base64")
const NEW_KEY = Buffer.alloc(32, 9).toString("base64")

// Commands run in-process (support/CliInProcess.ts: the CLI's own program, parser and configuration) but for
// the binary's smoke runs in the first test: a Node start per command took 2-8 s on a busy 2-core machine.
// Each test still starts a server process or two: caps of 240 s for a machine with a hog per core.
describe("pnpm tapline, through the admin API's typed client", () => {
  it("bootstraps an admin, creates an organisation and an event, sets windows, imports bands, exports the audit log", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli")
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-cli-"))
    try {
      const server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TAP_DOMAIN: "tap.test"
      })
      await waitUntilReady(server)
      const boot = await runCliInProcess(["admin:bootstrap", "--email", "root@example.com"], {
        DATABASE_URL: database.url
      })
      expect(boot.code).toBe(0)
      const key = /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? ""
      const env = { TAPLINE_URL: server.url, TAPLINE_API_KEY: key }
      const json = (output: string) =>
        JSON.parse(output.slice(output.indexOf("{"))) as Record<string, unknown>

      // The built binary, once: it starts, talks to the server with the key, prints the API's JSON.
      const org = await runCli(
        ["org:create", "--slug", "clitest", "--name", "CLI Test", "--website", "https://cli.example/"],
        env
      )
      expect(org.code).toBe(0)
      const orgId = json(org.output).id as string
      // As the API sends it: no Option objects, absent values are null.
      expect(org.output).not.toContain('"_id"')
      expect(json(org.output)).toMatchObject({ slug: "clitest", websiteUrl: "https://cli.example/" })

      // Usage errors: one readable line, no dump, no colour codes when piped; a missing key said in words.
      // (The binary, as colour codes are stripped by the process's piped output.)
      const usage = await runCli(["org:create", "--slug", "x"], env)
      expect(usage.code).toBe(1)
      expect(usage.output).toContain("Expected to find option: '--name'")
      expect(usage.output).not.toContain("Paragraph")
      expect(usage.output).not.toContain("\u001b[")
      const keyless = await runCliInProcess(["webhooks:list", "--org", "clitest"], {
        TAPLINE_URL: server.url
      })
      expect(keyless.code).toBe(1)
      expect(keyless.output).toContain("TAPLINE_API_KEY is not set")
      expect(keyless.output).not.toContain("<redacted>")
      const help = await runCli([], env)
      expect(help.output).toContain("USAGE")
      expect(help.output).not.toContain("\u001b[")

      const event = await runCliInProcess(
        ["event:create", "--org", orgId, "--name", "Night", "--timezone", "Europe/Berlin"],
        env
      )
      expect(event.code).toBe(0)
      const eventId = json(event.output).id as string

      const now = Date.now()
      const windows = Path.join(dir, "windows.json")
      Fs.writeFileSync(
        windows,
        JSON.stringify([
          {
            type: "PRE",
            url: "https://cli.example/pre",
            startsAt: new Date(now - 7_200_000).toISOString(),
            endsAt: new Date(now - 60_000).toISOString()
          },
          {
            type: "LIVE",
            url: "https://cli.example/live",
            startsAt: new Date(now - 60_000).toISOString(),
            endsAt: new Date(now + 3_600_000).toISOString()
          }
        ])
      )
      expect(
        (await runCliInProcess(["windows:set", "--org", orgId, "--event", eventId, windows], env)).code
      ).toBe(0)
      // Setting again replaces rather than overlapping.
      expect(
        (await runCliInProcess(["windows:set", "--org", orgId, "--event", eventId, windows], env)).code
      ).toBe(0)
      // A set that overlaps itself is refused whole: the event keeps its windows (it lost them all before).
      const overlapping = Path.join(dir, "overlapping.json")
      Fs.writeFileSync(
        overlapping,
        JSON.stringify([
          {
            type: "LIVE",
            url: "https://cli.example/a",
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + 7_200_000).toISOString()
          },
          {
            type: "POST",
            url: "https://cli.example/b",
            startsAt: new Date(now + 3_600_000).toISOString(),
            endsAt: new Date(now + 9_000_000).toISOString()
          }
        ])
      )
      const overlapRefused = await runCliInProcess(
        ["windows:set", "--org", orgId, "--event", eventId, overlapping],
        env
      )
      expect(overlapRefused.code).not.toBe(0)
      expect(overlapRefused.output).toContain("nothing was changed")

      const csv = Path.join(dir, "bands.csv")
      Fs.writeFileSync(csv, "band_uid,registrant_name\nCLI-1,Ann\nnot valid!,Bob\nCLI-2,Cy\n")
      const imported = await runCliInProcess(["bands:import", "--org", orgId, "--event", eventId, csv], env)
      expect(imported.code).toBe(2)
      expect(json(imported.output)).toMatchObject({ created: 2, invalidCount: 1 })

      // The organisation by its slug; the step that makes taps redirect by the windows.
      const activate = await runCliInProcess(
        ["event:status", "--org", "clitest", "--event", eventId, "ACTIVE"],
        env
      )
      expect(activate.code, activate.output).toBe(0)
      expect(json(activate.output)).toMatchObject({ id: eventId, status: "ACTIVE" })
      const unknownSlug = await runCliInProcess(
        ["event:status", "--org", "nosuch", "--event", eventId, "ACTIVE"],
        env
      )
      expect(unknownSlug.code).toBe(1)
      expect(unknownSlug.output).toContain('no organisation with the slug "nosuch"')
      const tap = await rawGet(server.port, "/e?bandId=CLI-2", `clitest.tap.test:${server.port}`)
      expect(tap).toEqual({ status: 302, location: "https://cli.example/live" })

      const out = Path.join(dir, "audit.csv")
      expect((await runCliInProcess(["audit:export", "--org", orgId, "--out", out], env)).code).toBe(0)
      const audit = Fs.readFileSync(out, "utf8")
      expect(audit).toContain("window.replace")
      expect(audit).toContain("band.import")

      const summary = await runCliInProcess(["analytics:summary", "--org", orgId, "--event", eventId], env)
      expect(summary.code).toBe(0)
      expect(json(summary.output)).toMatchObject({
        totalTaps: expect.any(Number),
        uniqueBands: expect.any(Number)
      })
      const tapsCsv = Path.join(dir, "taps.csv")
      expect(
        (await runCliInProcess(["taps:export", "--org", orgId, "--event", eventId, "--out", tapsCsv], env))
          .code
      ).toBe(0)
      expect(Fs.readFileSync(tapsCsv, "utf8").split("\n")[0]).toContain("tapped_at")

      const refused = await runCliInProcess(["event:create", "--org", orgId, "--name", "X"], {
        ...env,
        TAPLINE_API_KEY: "tlk_wrong"
      })
      expect(refused.code).toBe(1)
      expect(refused.output).toContain("Unauthorized")

      // Registrants (issue 33): listed (every page, filtered), exported, erased; the band stays.
      const list = async (args: ReadonlyArray<string>) => {
        const run = await runCliInProcess(["registrants:list", "--org", orgId, ...args], env)
        expect(run.code, run.output).toBe(0)
        return JSON.parse(run.output.slice(run.output.indexOf("["))) as Array<{ id: string; name: string }>
      }
      const [ann] = await list(["--search", "ann"])
      expect(ann?.name).toBe("Ann")
      const exported = await runCliInProcess(["registrants:export", "--org", orgId, ann!.id], env)
      expect(json(exported.output)).toMatchObject({ registrant: { name: "Ann" }, band: { bandUid: "CLI-1" } })
      expect((await runCliInProcess(["registrants:erase", "--org", orgId, ann!.id], env)).code).toBe(0)
      expect((await list([])).map((registrant) => registrant.name)).toEqual(["Cy"])

      // Journeys' channels (issue 34): one line each; SMS and push have no provider in this server.
      const channels = await runCliInProcess(["journeys", "channels", "--org", orgId], env)
      expect(channels.code, channels.output).toBe(0)
      expect(channels.output).toMatch(/^email {2}configured: \S+/m)
      expect(channels.output).toMatch(/^sms {4}not configured$/m)
      expect(channels.output).toMatch(/^push {3}not configured$/m)

      const keys = `2:${Buffer.alloc(32, 2).toString("base64")},1:${Buffer.alloc(32, 1).toString("base64")}`
      const rotate = await runCliInProcess(["secrets:rotate"], {
        DATABASE_URL: database.url,
        TAPLINE_ENCRYPTION_KEYS: keys
      })
      expect(rotate.code).toBe(0)
      expect(json(rotate.output)).toEqual({
        currentKey: 2,
        reencrypted: { totpSeeds: 0, oauthClientSecrets: 0, webhookSecrets: 0 }
      })
      await stopCleanly(server)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 240_000)
  it("storage:check writes, reads, follows a link to and removes an object in the server's storage", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli-storage")
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-cli-storage-"))
    try {
      // The command and the server share the data folder: the same storage and the key that signs its links.
      const server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        TAPLINE_DATA_DIR: dir
      })
      await waitUntilReady(server)
      const json = (output: string) =>
        JSON.parse(output.slice(output.indexOf('{"provider'))) as Record<string, unknown>
      const check = await runCliInProcess(["storage:check"], {
        TAPLINE_DATA_DIR: dir,
        PUBLIC_URL: server.url
      })
      expect(check.code).toBe(0)
      // `list` is what the uploads job's sweep needs (on S3, the s3:ListBucket permission).
      expect(json(check.output)).toMatchObject({
        provider: "local",
        ok: true,
        link: "ok",
        list: "ok",
        remove: "ok"
      })
      // A link this machine cannot follow is a failure, said in words.
      const unreachable = await runCliInProcess(["storage:check"], {
        TAPLINE_DATA_DIR: dir,
        PUBLIC_URL: "http://127.0.0.1:9"
      })
      expect(unreachable.code).toBe(1)
      expect(json(unreachable.output)).toMatchObject({ ok: false, get: "ok, same bytes" })
      expect(String(json(unreachable.output).link)).toContain("unreachable")
      await stopCleanly(server)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 240_000)

  it("webhooks:list shows the endpoints, webhooks:redeliver sends the failed deliveries again, secrets:rotate keeps them working", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli-webhooks")
    let healthy = false
    const received: Array<string> = []
    const receiver = Http.createServer((request, response) => {
      request.resume()
      request.on("end", () => {
        received.push(String(request.headers["webhook-id"]))
        response.writeHead(healthy ? 204 : 503).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
    try {
      const serverEnv = {
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        OUTBOUND_ALLOW: "127.0.0.1",
        WEBHOOK_RETRY_DELAYS: "1 second",
        WEBHOOK_POLL_INTERVAL: "100 millis",
        TAPLINE_ENCRYPTION_KEYS: `1:${OLD_KEY}`
      }
      const server = await startServer(serverEnv)
      await waitUntilReady(server)
      const boot = await runCliInProcess(["admin:bootstrap", "--email", "hooks@example.com"], {
        DATABASE_URL: database.url
      })
      expect(boot.code, boot.output).toBe(0)
      const key = /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? ""
      const env = { TAPLINE_URL: server.url, TAPLINE_API_KEY: key }
      const api = apiCaller(server.url, key)
      const org = await api("POST", "/api/v1/organizations", { slug: "hooks", name: "Hooks" })
      const orgId = String(org.id)
      const base = `/api/v1/organizations/${orgId}/webhooks`
      const created = await api("POST", base, { url: receiverUrl, eventTypes: ["export.ready"] })
      expect(created, JSON.stringify({ org, created })).toHaveProperty("endpoint")
      const endpointId = (created.endpoint as { id: string }).id
      const messageId = String((await api("POST", `${base}/${endpointId}/test`)).messageId)

      // Two attempts (the first and one retry), both refused: the delivery fails and the endpoint is disabled.
      for (let i = 0; i < 300 && (await api("GET", `${base}/${endpointId}`)).enabled !== false; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const listed = await runCliInProcess(["webhooks:list", "--org", orgId], env)
      expect(listed.code).toBe(0)
      const endpoints = JSON.parse(listed.output.slice(listed.output.indexOf("["))) as Array<
        Record<string, unknown>
      >
      expect(endpoints).toHaveLength(1)
      expect(endpoints[0]).toMatchObject({ id: endpointId, url: receiverUrl, enabled: false })
      expect(String(endpoints[0]!.disabledReason)).toContain("HTTP 503")
      expect(received).toEqual([messageId, messageId])

      healthy = true
      await api("PATCH", `${base}/${endpointId}`, { enabled: true })
      const redelivered = await runCliInProcess(
        ["webhooks:redeliver", "--org", orgId, "--endpoint", endpointId],
        env
      )
      expect(redelivered.code).toBe(0)
      expect(JSON.parse(redelivered.output.slice(redelivered.output.indexOf("{")))).toEqual({
        redelivered: [messageId]
      })
      for (let i = 0; i < 300 && received.length < 3; i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received).toEqual([messageId, messageId, messageId])
      await stopCleanly(server)

      // Key rotation (docs/runbook.md): re-seal under a new first key, then start with the new key alone.
      const rotated = await runCliInProcess(["secrets:rotate"], {
        DATABASE_URL: database.url,
        TAPLINE_ENCRYPTION_KEYS: `2:${NEW_KEY},1:${OLD_KEY}`
      })
      expect(rotated.code, rotated.output).toBe(0)
      expect(JSON.parse(rotated.output.slice(rotated.output.indexOf("{")))).toMatchObject({
        currentKey: 2,
        reencrypted: { webhookSecrets: 2 }
      })
      const restarted = await startServer({ ...serverEnv, TAPLINE_ENCRYPTION_KEYS: `2:${NEW_KEY}` })
      await waitUntilReady(restarted)
      const after = await fetch(`${restarted.url}${base}/${endpointId}/test`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` }
      })
      const afterId = String(((await after.json()) as { messageId: string }).messageId)
      for (let i = 0; i < 300 && !received.includes(afterId); i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received).toContain(afterId)
      await stopCleanly(restarted)
    } finally {
      receiver.close()
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 240_000)
})

describe("the runbook's redrives, through pnpm tapline", () => {
  it("jobs:failed and jobs:retry send a mail again once the provider is fixed; taps:dead-letters and taps:redrive store a kept tap", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("cli-redrive")
    let providerFixed = false
    const mails: Array<string> = []
    const provider = Http.createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => {
        body += chunk
      })
      request.on("end", () => {
        mails.push(body)
        // Resend's answer to a message it will not send (a permanent failure: no retry), until fixed.
        if (providerFixed) response.writeHead(200, { "content-type": "application/json" }).end('{"id":"x"}')
        else response.writeHead(422, { "content-type": "application/json" }).end('{"message":"invalid from"}')
      })
    })
    await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve))
    const providerUrl = `http://127.0.0.1:${(provider.address() as { port: number }).port}`
    try {
      const server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        EMAIL_PROVIDERS: "resend",
        RESEND_API_KEY: "re_cli_test",
        RESEND_BASE_URL: providerUrl
      })
      await waitUntilReady(server)
      const boot = await runCliInProcess(["admin:bootstrap", "--email", "ops@example.com"], {
        DATABASE_URL: database.url
      })
      expect(boot.code, boot.output).toBe(0)
      const key = /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? ""
      const env = { TAPLINE_URL: server.url, TAPLINE_API_KEY: key }
      const api = apiCaller(server.url, key)
      const output = <A>(text: string) => JSON.parse(text.slice(text.search(/[[{]/))) as A

      const org = await api("POST", "/api/v1/organizations", { slug: "redrive", name: "Redrive" })
      await api("POST", `/api/v1/organizations/${String(org.id)}/invitations`, {
        email: "new@example.com",
        role: "EDITOR"
      })
      let failed: Array<{ id: string; queue: string; error: string }> = []
      for (let i = 0; i < 300 && failed.length === 0; i++) {
        const listed = await runCliInProcess(["jobs:failed"], env)
        expect(listed.code, listed.output).toBe(0)
        failed = output(listed.output)
        if (failed.length === 0) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(failed).toHaveLength(1)
      expect(failed[0]).toMatchObject({ queue: "email.send" })
      expect(failed[0]!.error).toContain("422")

      providerFixed = true
      const retried = await runCliInProcess(["jobs:retry"], env)
      expect(retried.code, retried.output).toBe(0)
      expect(output<{ retried: Array<string> }>(retried.output).retried).toEqual([failed[0]!.id])
      for (let i = 0; i < 300 && mails.length < 2; i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      expect(mails).toHaveLength(2)
      expect(output<Array<unknown>>((await runCliInProcess(["jobs:failed"], env)).output)).toEqual([])

      // A tap the writer kept aside for an organisation that did not exist then (as it writes them).
      const tap = {
        id: "01938a00-0000-7000-8000-00000000c11a",
        orgId: null,
        orgRef: "slug:redrive",
        eventId: null,
        bandId: null,
        bandUid: "CLI-LATE-1",
        windowId: null,
        mode: null,
        kind: "DEFAULT",
        url: "https://default.example/",
        at: Date.now(),
        ua: null,
        ip: null,
        utm: null,
        bot: false,
        dup: false,
        assign: null
      }
      await database.query(
        `insert into tap_dead_letters (tap_id, payload, error) values ('${tap.id}', '${JSON.stringify(tap)}', 'unknown organisation (slug:redrive)')`
      )
      const kept = await runCliInProcess(["taps:dead-letters"], env)
      expect(kept.code, kept.output).toBe(0)
      expect(output<Array<{ tapId: string; error: string }>>(kept.output)).toMatchObject([
        { tapId: tap.id, error: "unknown organisation (slug:redrive)" }
      ])
      const redriven = await runCliInProcess(["taps:redrive"], env)
      expect(redriven.code, redriven.output).toBe(0)
      expect(output(redriven.output)).toEqual({ tried: 1, stored: 1, stillRefused: 0, remaining: 0 })
      const stored = await database.query<{ organization_id: string }>(
        `select organization_id from taps where id = '${tap.id}'`
      )
      expect(stored).toEqual([{ organization_id: String(org.id) }])
      await server.stop()
    } finally {
      provider.close()
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 180_000)
})

describe("tapline setup:link", () => {
  const linkIn = (output: string) => /(http:\/\/\S+\/setup#token=(tsu_[A-Za-z0-9_-]{43}))/.exec(output)
  const optionsStatus = async (url: string, token: string) =>
    (
      await fetch(`${url}/api/v1/setup/registration-options`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token, email: "first@example.com" })
      })
    ).status

  it("beside the embedded server: a fresh link through the data folder; refused once the server stops", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-setuplink-"))
    try {
      const server = await startServer({ TAPLINE_DATA_DIR: dataDir })
      await waitUntilReady(server, 120_000)
      const recorded = Path.join(dataDir, "postgres.json")
      expect(Fs.statSync(recorded).mode & 0o777).toBe(0o600)
      const made = await runCliInProcess(["setup:link"], {
        TAPLINE_DATA_DIR: dataDir,
        PORT: String(server.port)
      })
      expect(made.code, made.output).toBe(0)
      const link = linkIn(made.output)!
      expect(link[1]).toContain(`http://localhost:${server.port}/setup#token=`)
      expect(server.output()).not.toContain(link[2])
      expect(await optionsStatus(server.url, link[2]!)).toBe(200)
      await stopCleanly(server)
      expect(Fs.existsSync(recorded)).toBe(false)

      const stopped = await runCliInProcess(["setup:link"], { TAPLINE_DATA_DIR: dataDir })
      expect(stopped.code).toBe(1)
      expect(stopped.output).toMatch(/no Tapline server is running/)
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 240_000)

  it("on DATABASE_URL: a fresh link while no user exists, then a clear refusal", async () => {
    const database = await createDatabase()
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-setuplink-"))
    try {
      const server = await startServer({ DATABASE_URL: database.url, TAPLINE_DATA_DIR: dataDir })
      await waitUntilReady(server)
      const env = { DATABASE_URL: database.url, PUBLIC_URL: `http://localhost:${server.port}` }
      const made = await runCliInProcess(["setup:link"], env)
      expect(made.code, made.output).toBe(0)
      const link = linkIn(made.output)!
      expect(await optionsStatus(server.url, link[2]!)).toBe(200)
      // The server's own link (in the file) still works too: each is its own.
      const own = /tsu_[A-Za-z0-9_-]{43}/.exec(Fs.readFileSync(Path.join(dataDir, "setup-link"), "utf8"))![0]
      expect(own).not.toBe(link[2])
      expect(await optionsStatus(server.url, own)).toBe(200)

      expect((await runCliInProcess(["admin:bootstrap", "--email", "a@example.com"], env)).code).toBe(0)
      const refused = await runCliInProcess(["setup:link"], env)
      expect(refused.code).toBe(1)
      expect(refused.output).toMatch(/already set up/)
      expect(linkIn(refused.output)).toBeNull()
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
      await database.drop()
    }
  }, 240_000)
})
