import { describe, expect, it } from "vitest"
import * as MailTemplates from "../src/Mail/MailTemplates.js"

/* The mails' text and HTML: branding applied, every organiser-given value escaped in the HTML. */

const hostile = MailTemplates.brandOf({
  name: `<script>alert("x")</script> & Co`,
  branding: {
    primaryColor: "#0a7b83",
    accentColor: "#ff5500",
    logoUrl: "https://cdn.example/logo.png?a=1&b=2"
  }
})

describe("mail templates", () => {
  it("an invitation has the link in both parts, the organisation's colours and logo, and no raw markup", () => {
    const mail = MailTemplates.invitation(hostile, {
      role: "EDITOR",
      link: "https://tapline.test/sign-in?invitation=tli_abc",
      validDays: 7
    })
    expect(mail.subject).toBe(`You are invited to <script>alert("x")</script> & Co on Tapline`)
    expect(mail.text).toContain("https://tapline.test/sign-in?invitation=tli_abc")
    expect(mail.text).toContain("as EDITOR")
    expect(mail.html).toContain('href="https://tapline.test/sign-in?invitation=tli_abc"')
    expect(mail.html).toContain("border-top:4px solid #0a7b83")
    expect(mail.html).toContain("background:#ff5500")
    expect(mail.html).toContain('src="https://cdn.example/logo.png?a=1&amp;b=2"')
    expect(mail.html).not.toContain("<script>")
    expect(mail.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co")
  })

  it("branding that does not decode (a colour that is not one) is no branding: the default look", () => {
    const plain = MailTemplates.brandOf({
      name: "Plain",
      branding: { primaryColor: "red;background:url(x)" }
    })
    expect(plain.branding).toEqual({})
    const mail = MailTemplates.alert(plain, {
      title: "Webhook endpoint disabled",
      lines: ["It failed for a day."]
    })
    expect(mail.subject).toBe("[Plain] Webhook endpoint disabled")
    expect(mail.html).toContain("#1f2937")
    expect(mail.html).not.toContain("url(x)")
    expect(mail.html).not.toContain("<img")
    expect(mail.text).toBe("Webhook endpoint disabled\n\nIt failed for a day.")
  })

  it("export ready names the kind, the rows and the last day it can be downloaded", () => {
    const mail = MailTemplates.exportReady(hostile, {
      kind: "taps",
      rows: 1234,
      link: "https://tapline.test/api/v1/organizations/o/exports/e/download",
      expiresAt: new Date("2026-12-10T08:00:00Z")
    })
    expect(mail.text).toContain("(1234 rows)")
    expect(mail.text).toContain("until 2026-12-10 (UTC)")
    expect(mail.html).toContain('href="https://tapline.test/api/v1/organizations/o/exports/e/download"')
  })
})
