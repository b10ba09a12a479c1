import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { addVirtualAuthenticator, keepOnLoopback, launchChromium } from "@tapline/testing/browser"
import { startSmtpPeer } from "@tapline/testing/smtpPeer"
import type { Browser, Page } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"
import { type RunningServer, startServer } from "./support/ServerProcess.js"

/*
 * Issue 29 item 6, a newcomer's way in, in Chromium against the built server on an empty data folder (the
 * quick start's embedded defaults and demo data), with no curl: the banner's setup link; a passkey (DevTools
 * virtual authenticator) makes the first person ADMIN and OWNER of the demo; the console's events list; an
 * invitation whose link the console shows; the teammate's first sign-in by the code an email brings (a real
 * SMTP peer), the invitation accepted, and the teammate's events list. Prints the times from the start.
 */

const smtp = await startSmtpPeer()
const browser: Browser = await launchChromium()
afterAll(async () => {
  await browser.close()
  await smtp.stop()
})

/** A page that cannot leave loopback, with a virtual authenticator that says yes. */
const newPage = async (): Promise<Page> => {
  const context = await browser.newContext()
  context.setDefaultTimeout(30_000)
  const page = await context.newPage()
  await keepOnLoopback(page)
  await addVirtualAuthenticator(page)
  return page
}

/** The banner's labelled URLs, once it is printed. */
const bannerUrls = async (server: RunningServer) => {
  const deadline = Date.now() + 120_000
  for (;;) {
    const output = server.output()
    const start = output.indexOf("\n  Tapline is ready:\n")
    const end = start < 0 ? -1 : output.indexOf("\n\n", start + 1)
    if (end > 0) {
      const urls = new Map<string, string>()
      for (const line of output.slice(start + 1, end).split("\n")) {
        const match = /^\s+(\S.*?)\s{2,}(https?:\/\/\S+)$/.exec(line)
        if (match) urls.set(match[1]!, match[2]!)
      }
      return urls
    }
    if (Date.now() > deadline) throw new Error(`no banner after 120 s:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const mailTo = async (address: string, subject: RegExp) => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const mail = smtp.received.find(
      (m) => JSON.stringify(m.to ?? "").includes(address) && subject.test(m.subject ?? "")
    )
    if (mail !== undefined) return mail.text ?? ""
    if (Date.now() > deadline) throw new Error(`no mail to ${address} matching ${subject}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("a newcomer's way in", () => {
  it("from an empty data folder to the console, a teammate invited and signed in by an email code", async () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-way-in-"))
    const teammate = `teammate-${process.pid}@example.com`
    const started = performance.now()
    const server = await startServer({
      TAPLINE_DATA_DIR: dataDir,
      EMAIL_PROVIDERS: "smtp",
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_RETRY_DELAY_SECONDS: "1"
    })
    try {
      const urls = await bannerUrls(server)
      const setupLink = urls.get("setup link")
      const consoleUrl = urls.get("console")
      expect(setupLink, [...urls].join("\n")).toMatch(/\/setup#token=tsu_/)
      expect(consoleUrl).toMatch(/\/console\/$/)

      // The first person: the setup link, a passkey, the demo organisation.
      const owner = await newPage()
      await owner.goto(setupLink!)
      await owner.waitForSelector("body[data-ready=true]")
      expect(await owner.isChecked("#org-demo")).toBe(true)
      await owner.fill("#email", "olivia@example.com")
      await owner.fill("#name", "Olivia")
      await owner.click("#finish")
      await owner.waitForURL(consoleUrl!, { timeout: 60_000 })
      await owner.getByRole("link", { name: "Tapline Demo Festival", exact: true }).waitFor()
      const ownerSeconds = (performance.now() - started) / 1000

      // The teammate: invited in the console, whose link it shows once.
      await owner.goto(`${consoleUrl}team`)
      const form = owner.getByRole("form", { name: "Invite someone" })
      await form.getByLabel("Email").fill(teammate)
      await form.getByLabel("Role").selectOption("EDITOR")
      await owner.getByRole("button", { name: "Send invitation" }).click()
      // The link, or what the page said instead (a refusal fails the test with its words, not a timeout).
      const answer = owner.getByTestId("invitation-link").or(owner.locator("[role=alert], .field-error"))
      await answer.first().waitFor()
      const refused = await owner.locator("[role=alert], .field-error").allTextContents()
      expect(refused).toEqual([])
      const invitationLink = (await owner.getByTestId("invitation-link").textContent()) ?? ""
      expect(invitationLink).toMatch(/\/sign-in\?invitation=tli_/)

      // Their first sign-in: the invitation link, a code by email, the invitation accepted.
      const mate = await newPage()
      await mate.goto(invitationLink)
      await mate.getByLabel("Or get a sign-in link and code by email").fill(teammate)
      await mate.getByRole("button", { name: "Email me a link and a code" }).click()
      await mate.waitForSelector("#message.info:has-text('on their way')")
      const code = /: (\d{6})\s*$/m.exec(await mailTo(teammate, /sign-in/i))?.[1]
      expect(code).toMatch(/^\d{6}$/)
      await mate.getByLabel("Six-digit code from the email").fill(code!)
      await mate.getByRole("button", { name: "Sign in with the code" }).click()
      await mate.click("#accept-invitation")
      await mate.waitForSelector("#message:has-text('joined')")
      await mate.goto(consoleUrl!)
      await mate.getByText(teammate).waitFor()
      await mate.getByRole("link", { name: "Tapline Demo Festival", exact: true }).waitFor()
      const teammateSeconds = (performance.now() - started) / 1000
      console.log(
        `way in: start → owner's events list ${ownerSeconds.toFixed(1)} s; → teammate's events list ${teammateSeconds.toFixed(1)} s`
      )
    } finally {
      await server.stop()
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }, 240_000)
})
