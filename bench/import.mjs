// pnpm bench:import — 100 000 bands imported as one CSV request through the running server (parse, row checks,
// insert, audit, read-model projection), three times into fresh events, beside the baseline: the same rows
// inserted by one plain SQL statement (the database work alone).
import Pg from "pg"
import { runBench, startTapline } from "./support.mjs"

const BANDS = Number(process.env.BENCH_BANDS ?? 100_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)

const main = async () => {
  const { server, databaseUrl, api: call } = await startTapline("import")
  const org = await call("POST", "/api/v1/organizations", { slug: "import", name: "Import" })
  // Each event gets wristbands of its own, as a real event does (ids shared across events cost a merge).
  const rowsOf = (run) =>
    Array.from({ length: BANDS }, (_, i) => [`R${run}-${i}`, `Person ${i}`, `p${i}@example.com`])
  const csvOf = (rows) =>
    `band_uid,registrant_name,registrant_email\n${rows.map((r) => r.join(",")).join("\n")}\n`
  const csv = csvOf(rowsOf(0))
  const api = []
  for (let run = 0; run < RUNS; run++) {
    const csv = csvOf(rowsOf(run))
    const event = await call("POST", `/api/v1/organizations/${org.id}/events`, { name: `Import ${run}` })
    const started = process.hrtime.bigint()
    const result = await call(
      "POST",
      `/api/v1/organizations/${org.id}/events/${event.id}/bands/import`,
      csv,
      "text/csv"
    )
    api.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (result.created !== BANDS) throw new Error(`created ${result.created}`)
  }
  const db = new Pg.Client({ connectionString: databaseUrl })
  await db.connect()
  const raw = []
  for (let run = 0; run < RUNS; run++) {
    const rows = rowsOf(RUNS + run)
    const event = await call("POST", `/api/v1/organizations/${org.id}/events`, { name: `Raw ${run}` })
    const started = process.hrtime.bigint()
    await db.query(
      // The same rows by hand: the bands, then their registrants (their own table since 0022).
      `with b as (
         insert into bands (organization_id, event_id, band_uid) select $1, $2, u from unnest($3::text[]) as u
         returning id, band_uid)
       insert into registrants (organization_id, band_id, name, email, source)
       select $1, b.id, nullif(r.n, ''), nullif(r.e, ''), 'import'
       from b join unnest($3::text[], $4::text[], $5::text[]) as r(u, n, e) on r.u = b.band_uid`,
      [org.id, event.id, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])]
    )
    raw.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  await db.end()
  const fmt = (list) => list.map((ms) => `${Math.round(ms)} ms`).join(", ")
  console.log(`\nbench:import — ${BANDS} bands, ${(csv.length / 1e6).toFixed(1)} MB CSV, ${RUNS} runs each`)
  console.log(`tapline import request   ${fmt(api)}   (target < 5 000 ms)`)
  console.log(`baseline: one SQL insert ${fmt(raw)}`)
  console.log(`ratio tapline/baseline (best runs): ${(Math.min(...api) / Math.min(...raw)).toFixed(2)}`)
  server.child.kill("SIGTERM")
}

runBench(main)
