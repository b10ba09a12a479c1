// pnpm bench:fairness — can one organisation delay another's work (DESIGN §9: by a second at most)? Two
// floods, each followed by one job of a victim organisation, on the built server (role `all`, pg-boss):
//   webhooks: 48 test pings to endpoints that accept the connection and never answer, then the victim's ping;
//             printed: victim's ping → delivered at its receiver;
//   exports:  150 tap exports queued by one VIEWER, then the victim's export;
//             printed: victim's export created → running (taken), and → done.
// Each victim figure is measured quiet first (no flood), then behind the flood.
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { festival, runBench, sleep, startTapline } from "./support.mjs"

const PINGS = Number(process.env.BENCH_PINGS ?? 48)
const EXPORTS = Number(process.env.BENCH_EXPORTS ?? 150)
const TAPS = Number(process.env.BENCH_TAPS ?? 10_000)
const BANDS = 1_000

/** Accepts connections and never answers: an endpoint that stopped responding. */
const hungServer = async () => {
  const sockets = new Set()
  const server = Net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    open: () => sockets.size,
    close: () => {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  }
}

/** Answers 204 and remembers when each path arrived. */
const receiver = async () => {
  const arrived = new Map()
  const server = Http.createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      arrived.set(request.url, performance.now())
      response.writeHead(204).end()
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, arrived, close: () => server.close() }
}

const until = async (condition, what, timeoutMs = 900_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`

const main = async () => {
  const storage = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-fairness-"))
  const { port, databaseUrl, api } = await startTapline("fairness", {
    LOG_LEVEL: "ERROR",
    TAPLINE_ROLE: "all",
    STORAGE_LOCAL_DIR: storage,
    OUTBOUND_ALLOW: "127.0.0.1",
    WEBHOOK_POLL_INTERVAL: "100 millis",
    // The floods are the point: quotas (where the server has them) must not stop them here.
    QUOTA_TEST_PINGS_PER_MINUTE: "10000",
    QUOTA_EXPORTS_PER_MINUTE: "10000"
  })
  const as = (key) => async (method, path, body) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const tenant = async (slug) => {
    const org = await api("POST", "/api/v1/organizations", { slug, name: slug })
    const key = async (role) =>
      (await api("POST", `/api/v1/organizations/${org.id}/api-keys`, { name: role, role })).secret
    return { id: org.id, owner: as(await key("OWNER")), viewer: as(await key("VIEWER")) }
  }
  const flooder = await tenant("flooder")
  const victim = await tenant("victim")

  // --- webhooks -------------------------------------------------------------------------------------------
  const hung = await hungServer()
  const healthy = await receiver()
  const hook = async (org, url) =>
    (
      await org.owner("POST", `/api/v1/organizations/${org.id}/webhooks`, {
        url,
        eventTypes: ["export.ready"]
      })
    ).endpoint.id
  const victimHook = await hook(victim, `${healthy.url}/victim`)
  const victimPing = async (label) => {
    healthy.arrived.delete("/victim")
    const sent = performance.now()
    await victim.owner("POST", `/api/v1/organizations/${victim.id}/webhooks/${victimHook}/test`)
    const at = await until(() => healthy.arrived.get("/victim"), `the victim's ping (${label})`)
    return at - sent
  }
  const quietPing = await victimPing("quiet")
  const hungHooks = []
  for (let i = 0; i < 3; i++) hungHooks.push(await hook(flooder, `${hung.url}/hung-${i}`))
  for (let n = 0; n < PINGS; n++)
    await flooder.owner("POST", `/api/v1/organizations/${flooder.id}/webhooks/${hungHooks[n % 3]}/test`)
  await until(() => hung.open() > 0, "the flood to reach the hung endpoints")
  const floodedPing = await victimPing("behind the flood")
  const hungOpen = hung.open()
  hung.close()
  healthy.close()
  console.log("\nvictim's delay (DESIGN §9: one second at most)")
  console.log(
    `webhook ping → delivered: quiet ${seconds(quietPing)}, behind ${PINGS} pings to hung endpoints ${seconds(floodedPing)} (hung requests open then: ${hungOpen})`
  )

  // --- exports --------------------------------------------------------------------------------------------
  const { event, window, start, hours } = await festival(api, flooder.id, BANDS)
  const db = new Pg.Client({ connectionString: databaseUrl })
  db.on("error", () => {})
  await db.connect()
  await db.query(`select tapline_ensure_tap_partitions(12, 3)`)
  await db.query(
    `insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
       destination_url, tapped_at, user_agent, is_bot, is_duplicate, utm_source)
     select gen_random_uuid(), $1, $2, b.id, b.band_uid, $3, 'LIVE', 'WINDOW', 'https://example.com/live',
       $5::timestamptz + ((n * 7919) % ($6::bigint * 3600000)) * interval '1 millisecond',
       'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', n % 50 = 0, n % 17 = 0, 'wristband'
     from generate_series(0, $7::bigint - 1) n
     join lateral (select id, band_uid from bands where event_id = $2 and band_uid = 'FEST-' || (n % $4)) b on true`,
    [flooder.id, event.id, window.id, BANDS, new Date(start).toISOString(), hours, TAPS]
  )
  await db.query("analyze taps")

  const statusOf = async (org, id) =>
    (await org.owner("GET", `/api/v1/organizations/${org.id}/exports/${id}`)).status
  const victimExport = async (label) => {
    const sent = performance.now()
    const created = await victim.owner("POST", `/api/v1/organizations/${victim.id}/exports`, {
      kind: "audit"
    })
    let taken = null
    await until(async () => {
      const status = await statusOf(victim, created.id)
      if (taken === null && status !== "queued") taken = performance.now()
      return status === "done" || status === "failed"
    }, `the victim's export (${label})`)
    return { taken: taken - sent, done: performance.now() - sent }
  }
  const quietExport = await victimExport("quiet")
  const flood = []
  for (let n = 0; n < EXPORTS; n++)
    flood.push(
      await flooder.viewer("POST", `/api/v1/organizations/${flooder.id}/exports`, {
        kind: "taps",
        eventId: event.id
      })
    )
  await until(
    async () => (await statusOf(flooder, flood[0].id)) !== "queued",
    "the first flood export to start"
  )
  const floodedExport = await victimExport("behind the flood")
  const floodLeft = (
    await db.query(
      `select count(*)::int as n from exports where organization_id = $1 and status = 'queued'`,
      [flooder.id]
    )
  ).rows[0].n
  await db.end()

  console.log(
    `export → taken:           quiet ${seconds(quietExport.taken)}, behind ${EXPORTS} exports ${seconds(floodedExport.taken)}`
  )
  console.log(
    `export → done:            quiet ${seconds(quietExport.done)}, behind ${EXPORTS} exports ${seconds(floodedExport.done)} (flood exports still queued then: ${floodLeft})`
  )
}

runBench(main)
