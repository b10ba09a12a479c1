import * as Http from "node:http"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import { describe, expect, it } from "vitest"
import { runCliInProcess } from "./support/CliInProcess.js"
import { numberedTap, processGroup } from "./support/Durability.js"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"

/*
 * TAPLINE_ROLE=jobs: background work in a process of its own, without the tap writer, so the journeys' sender
 * (and the job queue, webhooks, registration sources) can have a core the writer does not flood
 * (docs/benchmarks.md, bench:journeys). Three processes: the redirect (api), the writer and the journeys' tap
 * sink (worker), and the sender (jobs); only the jobs process has JOBS_ENABLED.
 */
describe("the jobs role", () => {
  it("sends a tap's journey message from its own process, and runs no writer", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("jobsrole")
    const smtp = await startSmtpPeer()
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: "Tapline <journeys@tapline.test>",
      LOG_LEVEL: "WARN"
    }
    const { launch, stopAll } = processGroup(env)
    try {
      const api = await launch({ TAPLINE_ROLE: "api", TAPLINE_DEMO: "1", JOBS_ENABLED: "false" })
      await launch({ TAPLINE_ROLE: "worker", JOBS_ENABLED: "false" })
      const jobs = await launch({ TAPLINE_ROLE: "jobs", JOBS_ENABLED: "true" })

      const ready = await fetch(`${jobs.url}/health/ready`)
      expect(ready.status).toBe(200)
      const checks = ((await ready.json()) as { checks: Record<string, string> }).checks
      expect(checks.writer).toBe("not_configured")
      expect(Object.keys(checks).filter((name) => name.startsWith("sink:"))).toEqual([])

      const boot = await runCliInProcess(["admin:bootstrap", "--email", "jobs@example.com"], {
        DATABASE_URL: database.url
      })
      const key = /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? ""
      const call = async (path: string, body: unknown) => {
        const response = await fetch(`${api.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(body)
        })
        expect(response.status, await response.clone().text()).toBe(201)
        return (await response.json()) as { id: string }
      }
      const [demo] = await database.query<{ organizationId: string; eventId: string; bandId: string }>(
        `select o.id as "organizationId", e.id as "eventId", b.id as "bandId" from organizations o
         join events e on e.organization_id = o.id join bands b on b.event_id = e.id
         where o.slug = 'demo' and b.band_uid = 'DEMO-0001'`
      )
      const base = `/api/v1/organizations/${demo!.organizationId}`
      await call(`${base}/registrants`, {
        bandId: demo!.bandId,
        name: "Ada",
        email: "ada@people.test",
        consents: [{ channel: "email", granted: true, wording: "Yes" }]
      })
      await call(`${base}/journeys`, {
        eventId: demo!.eventId,
        name: "Welcome",
        trigger: { _tag: "first_tap" },
        subject: "Welcome, {{name}}",
        body: "Hi"
      })

      const agent = new Http.Agent()
      expect(await numberedTap(agent, api.port, 0)).toBe("served")
      agent.destroy()
      const deadline = Date.now() + 60_000
      while (smtp.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const messages = await database.query<{ status: string }>("select status from journey_messages")
      expect(
        smtp.received.map((mail) => mail.subject),
        JSON.stringify(messages)
      ).toEqual(["Welcome, Ada"])
      const [sent] = await database.query<{ status: string }>("select status from journey_messages")
      expect(sent?.status).toBe("sent")
    } finally {
      await stopAll()
      await smtp.stop()
      await deletePrefix(prefix)
    }
  }, 180_000)
})
