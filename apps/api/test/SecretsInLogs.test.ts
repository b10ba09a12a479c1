import { createECDH, generateKeyPairSync, randomBytes } from "node:crypto"
import * as Http from "node:http"
import { describe, expect, it } from "vitest"
import { createDatabase, deletePrefix, redisUrl, uniquePrefix } from "./support/Peers.js"
import { runCli, startServer, waitUntilReady } from "./support/ServerProcess.js"

/*
 * Issue 15, item 5: no secret in any log. The server runs at DEBUG (where the log email provider prints mail
 * bodies) with secrets in its configuration; the test creates the credentials an operator and organisers
 * create, uses them where they travel in URLs (an invitation link, a signed storage link, a wrong key), and
 * then searches everything the process wrote for every one of them.
 */

describe("secrets never reach the logs", () => {
  it("configuration secrets, API keys, webhook secrets, invitation tokens and signed links are absent from the output", async () => {
    const database = await createDatabase()
    const prefix = uniquePrefix("secrets")
    const encryptionKey = randomBytes(32).toString("base64")
    const smtpPassword = `smtp-pass-${randomBytes(6).toString("hex")}`
    const metricsToken = `metrics-${randomBytes(8).toString("hex")}`
    const twilioAuthToken = `twilio-${randomBytes(8).toString("hex")}`
    const vonageApiSecret = `vonage-${randomBytes(8).toString("hex")}`
    const registrationKey = randomBytes(32).toString("base64url")
    // The report signing key (issue 35): its PEM, and the base64 body alone.
    const reportKeyPem = String(
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" })
    )
    const reportKey = reportKeyPem.split("\n")[1]!
    const vapid = createECDH("prime256v1")
    vapid.generateKeys()
    const vapidPrivateKey = vapid.getPrivateKey().toString("hex").padStart(64, "0")
    const vapidPrivateKeyText = Buffer.from(vapidPrivateKey, "hex").toString("base64url")
    const received: Array<string> = []
    const receiver = Http.createServer((request, response) => {
      request.resume()
      request.on("end", () => {
        received.push(String(request.headers["webhook-id"]))
        response.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
    try {
      const server = await startServer({
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: "DEBUG",
        TAPLINE_ENCRYPTION_KEYS: `1:${encryptionKey}`,
        // The SMTP server does not exist: every mail fails over to the log provider, which prints it at DEBUG.
        EMAIL_PROVIDERS: "smtp,log",
        SMTP_URL: `smtp://tapline:${smtpPassword}@127.0.0.1:9`,
        METRICS_TOKEN: metricsToken,
        REGISTRATION_TOKEN_KEY: registrationKey,
        REPORT_SIGNING_KEY: reportKeyPem,
        OUTBOUND_ALLOW: "127.0.0.1",
        WEBHOOK_POLL_INTERVAL: "100 millis",
        PUSH_PROVIDERS: "webpush,log",
        PUSH_VAPID_PUBLIC_KEY: vapid.getPublicKey().toString("base64url"),
        PUSH_VAPID_PRIVATE_KEY: vapidPrivateKeyText,
        PUSH_VAPID_SUBJECT: "mailto:ops@secrets.test",
        // SMS providers configured with their secrets (nothing is sent): the start must not print them.
        SMS_PROVIDERS: "twilio,vonage,log",
        TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
        TWILIO_AUTH_TOKEN: twilioAuthToken,
        TWILIO_FROM: "+15005550006",
        VONAGE_API_KEY: "vonage-key",
        VONAGE_API_SECRET: vonageApiSecret,
        VONAGE_FROM: "Tapline",
        EMAIL_RETRY_DELAY_SECONDS: "1"
      })
      await waitUntilReady(server)
      const boot = await runCli(["admin:bootstrap", "--email", "secrets@example.com"], {
        DATABASE_URL: database.url,
        TAPLINE_ENCRYPTION_KEYS: `1:${encryptionKey}`
      })
      const adminKey = /^(tlk_\S+)$/m.exec(boot.output)?.[1] ?? ""
      expect(adminKey).toMatch(/^tlk_/)
      const api = async (method: string, path: string, body?: unknown, key = adminKey) => {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
        return {
          status: response.status,
          body: (await response.json().catch(() => ({}))) as Record<string, unknown>
        }
      }
      const org = (await api("POST", "/api/v1/organizations", { slug: "secrets", name: "Secrets" })).body
      const base = `/api/v1/organizations/${String(org.id)}`
      const apiKey = String(
        (await api("POST", `${base}/api-keys`, { name: "ci", role: "OWNER" })).body.secret
      )
      const hook = (
        await api("POST", `${base}/webhooks`, { url: receiverUrl, eventTypes: ["export.ready"] }, apiKey)
      ).body
      const endpointId = (hook.endpoint as { id: string }).id
      const firstSecret = String(hook.secret)
      const rotated = String(
        (await api("POST", `${base}/webhooks/${endpointId}/rotate-secret`, {}, apiKey)).body.secret
      )
      await api("POST", `${base}/webhooks/${endpointId}/test`, undefined, apiKey)
      const invitation = (
        await api("POST", `${base}/invitations`, { email: "invitee@example.com", role: "VIEWER" }, apiKey)
      ).body
      // The link is in the answer (shown once) and a new link replaces it: neither may reach the output.
      const invitationLinks = [
        String(invitation.link),
        String((await api("POST", `${base}/invitations/${String(invitation.id)}/link`, {}, apiKey)).body.link)
      ]
      // The invitation's mail goes out through the log provider, body at DEBUG: its link is the token.
      for (let i = 0; i < 300 && !server.output().includes("invitation=<redacted>"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const upload = (
        await api(
          "POST",
          `${base}/uploads`,
          { purpose: "logo", contentType: "image/png", size: "not really a png".length },
          apiKey
        )
      ).body
      const uploadUrl = String(upload.uploadUrl)
      await fetch(uploadUrl, {
        method: "PUT",
        body: "not really a png",
        headers: { "content-type": "image/png" }
      })
      await fetch(`${server.url}/api/v1/organizations`, {
        headers: { authorization: "Bearer tlk_wrongwrongwrongwrongwrong" }
      })
      expect(
        (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } }))
          .status
      ).toBe(200)
      for (let i = 0; i < 100 && received.length < 1; i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received.length).toBeGreaterThanOrEqual(1)
      await server.stop()

      const output = server.output()
      expect(output).toContain("email (log provider, not sent)")
      const signature = new URL(uploadUrl).searchParams.get("signature") ?? ""
      expect(signature.length).toBeGreaterThan(10)
      for (const [name, secret] of Object.entries({
        adminKey,
        apiKey,
        firstSecret,
        rotated,
        encryptionKey,
        smtpPassword,
        metricsToken,
        twilioAuthToken,
        vonageApiSecret,
        registrationKey,
        reportKey,
        vapidPrivateKeyText,
        signature,
        wrongKey: "tlk_wrongwrongwrongwrongwrong",
        firstInvitationLink: invitationLinks[0]!,
        newInvitationLink: invitationLinks[1]!
      })) {
        expect(output.includes(secret), `${name} is in the server's output`).toBe(false)
      }
      expect(output).toContain("invitation=<redacted>")
      expect(output, "an invitation token in the output").not.toMatch(/tli_[A-Za-z0-9_-]{20,}/)
      expect(output, "a session or API token in the output").not.toMatch(/tl[ksrt]_[A-Za-z0-9_-]{20,}/)
      // No user at start: this server made a setup link, into the data folder's owner-only file only.
      expect(output, "a setup link's token in the output").not.toMatch(/tsu_[A-Za-z0-9_-]{20,}/)
    } finally {
      receiver.close()
      await database.drop()
      await deletePrefix(prefix)
    }
  }, 120_000)
})
