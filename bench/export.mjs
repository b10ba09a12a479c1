// pnpm bench:export — a background export of an event with 1 million taps (BENCH_TAPS to change) streamed into
// S3 (s3rver on loopback, SigV4 checked) by the running server, beside its baseline: the same CSV streamed
// straight to an HTTP client (the synchronous download, no storage). Prints the time of each, the object's
// size and the server's resident memory before and at its peak during the export.

import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { festival, onExit, runBench, sleep, startTapline } from "./support.mjs"

const TAPS = Number(process.env.BENCH_TAPS ?? 1_000_000)
const BANDS = 50_000
const S3rver = createRequire(new URL("../packages/server/package.json", import.meta.url))("@20minutes/s3rver")

const rssKb = (pid) => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`

const main = async () => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-bench-s3-"))
  const s3 = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: "bench" }]
  })
  const { port: s3Port } = await s3.run()
  // Refused S3 requests, printed if the export fails.
  const refused = []
  s3.httpServer.prependListener("request", (request, response) => {
    response.once("finish", () => {
      if (response.statusCode >= 300)
        refused.push(`${response.statusCode} ${request.method} ${request.url.slice(0, 160)}`)
    })
  })
  onExit(async () => {
    await s3.close()
    Fs.rmSync(directory, { recursive: true, force: true })
  })

  const { server, port, databaseUrl, key, api } = await startTapline("export", {
    TAPLINE_ROLE: "all",
    STORAGE_PROVIDER: "s3",
    STORAGE_S3_BUCKET: "bench",
    STORAGE_S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
    STORAGE_S3_FORCE_PATH_STYLE: "true",
    STORAGE_S3_ACCESS_KEY_ID: "S3RVER",
    STORAGE_S3_SECRET_ACCESS_KEY: "S3RVER"
  })
  const org = await api("POST", "/api/v1/organizations", { slug: "bench", name: "Bench" })
  const { event, window, start, hours } = await festival(api, org.id, BANDS)

  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  await db.query(`select tapline_ensure_tap_partitions(12, 3)`)
  console.log(`generating ${TAPS.toLocaleString("en")} taps …`)
  for (let offset = 0; offset < TAPS; offset += 500_000) {
    await db.query(
      `insert into taps (id, organization_id, event_id, band_id, band_uid, window_id, mode, redirect_kind,
         destination_url, tapped_at, user_agent, is_bot, is_duplicate, utm_source)
       select gen_random_uuid(), $1, $2, b.id, b.band_uid, $3, 'LIVE', 'WINDOW', 'https://example.com/live',
         $5::timestamptz + ((n * 7919) % ($6::bigint * 3600000)) * interval '1 millisecond',
         'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', n % 50 = 0, n % 17 = 0, 'wristband'
       from generate_series($7::bigint, $8::bigint) n
       join lateral (select id, band_uid from bands where event_id = $2 and band_uid = 'FEST-' || (n % $4)) b on true`,
      [
        org.id,
        event.id,
        window.id,
        BANDS,
        new Date(start).toISOString(),
        hours,
        offset,
        Math.min(TAPS, offset + 500_000) - 1
      ]
    )
    process.stdout.write(".")
  }
  await db.query("analyze taps")
  console.log("")

  // Baseline: the same CSV straight to an HTTP client, no storage in between.
  const idle = rssKb(server.child.pid)
  let streamPeak = idle
  const streamSampler = setInterval(() => {
    streamPeak = Math.max(streamPeak, rssKb(server.child.pid))
  }, 50)
  const from = new Date(start - 3_600_000).toISOString()
  const to = new Date(start + (hours + 1) * 3_600_000).toISOString()
  const streamStarted = performance.now()
  const direct = await fetch(
    `http://127.0.0.1:${port}/api/v1/organizations/${org.id}/analytics/events/${event.id}/taps.csv?from=${from}&to=${to}`,
    { headers: { authorization: `Bearer ${key}` } }
  )
  let directBytes = 0
  for await (const chunk of direct.body) directBytes += chunk.byteLength
  const streamMs = performance.now() - streamStarted
  clearInterval(streamSampler)

  const before = rssKb(server.child.pid)
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKb(server.child.pid))
  }, 50)
  const exportStarted = performance.now()
  const queued = await api("POST", `/api/v1/organizations/${org.id}/exports`, {
    kind: "taps",
    eventId: event.id,
    from,
    to
  })
  let exported = queued
  while (exported.status === "queued" || exported.status === "running") {
    await sleep(100)
    exported = await api("GET", `/api/v1/organizations/${org.id}/exports/${queued.id}`)
  }
  const exportMs = performance.now() - exportStarted
  clearInterval(sampler)
  if (exported.status !== "done") {
    const log = server
      .output()
      .split("\n")
      .filter((line) => line.includes('"ERROR"') || line.includes('"WARN"'))
    throw new Error(
      `export ${exported.status}: ${exported.error}\n${refused.slice(0, 20).join("\n")}\n${log.slice(-10).join("\n")}`
    )
  }
  const link = await fetch(exported.downloadUrl)
  let linkBytes = 0
  for await (const chunk of link.body) linkBytes += chunk.byteLength

  console.log(
    `bench:export — ${exported.rows.toLocaleString("en")} taps, ${(exported.bytes / 1e6).toFixed(0)} MB of CSV`
  )
  console.log(
    `export job into S3 (s3rver)   ${(exportMs / 1000).toFixed(1)} s (queued to done, polled every 100 ms)`
  )
  console.log(
    `baseline: direct CSV stream   ${(streamMs / 1000).toFixed(1)} s, ${(directBytes / 1e6).toFixed(0)} MB`
  )
  console.log(`ratio export/stream           ${(exportMs / streamMs).toFixed(2)}`)
  console.log(
    `server RSS                    ${mb(idle)} idle; peak ${mb(streamPeak)} during the stream, ${mb(peak)} during the export`
  )
  console.log(
    `presigned download            ${link.status}, ${linkBytes === exported.bytes ? "same bytes" : `${linkBytes} bytes`}`
  )
  await db.end()
  server.child.kill("SIGTERM")
}

runBench(main)
