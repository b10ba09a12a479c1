import { Effect, Logger, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { jsonLogger } from "../src/Telemetry/Logging.js"
import { redactSecrets } from "../src/Telemetry/Redaction.js"
import { sampling } from "../src/Telemetry/Tracing.js"

describe("credentials in log text", () => {
  it("are redacted by their shape or their query parameter, and nothing else is touched", () => {
    const token = `tli_${"a".repeat(43)}`
    expect(redactSecrets(`/api/v1/invitations/${token}/accept`)).toBe(
      "/api/v1/invitations/tli_<redacted>/accept"
    )
    expect(redactSecrets(`Bearer tlk_${"B".repeat(43)}`)).toBe("Bearer tlk_<redacted>")
    expect(redactSecrets(`whsec_${"c".repeat(40)}=`)).toBe("whsec_<redacted>")
    expect(redactSecrets("/storage/org/x?method=GET&expires=1&signature=v1.abc_DEF")).toBe(
      "/storage/org/x?method=GET&expires=1&signature=<redacted>"
    )
    expect(redactSecrets("/api/v1/oauth/github/callback?code=abc&state=xyz")).toBe(
      "/api/v1/oauth/github/callback?code=<redacted>&state=<redacted>"
    )
    // Issue 33: a registration's confirmation, an email sign-in link, a page token and an unsubscribe token.
    expect(redactSecrets(`/r/confirm/tlc_${"d".repeat(43)}`)).toBe("/r/confirm/tlc_<redacted>")
    expect(redactSecrets(`/sign-in/email?t=tle_${"e".repeat(43)}`)).toBe("/sign-in/email?t=tle_<redacted>")
    const page = `01a25099-9584-7162-bd22-0e82a5150ca4.DEMO-0001.tpogay.yIeq5KEL0xU-ybD8cPZgcfd-GSzeRJQL`
    expect(redactSecrets(`302 to https://tapline.example/r/${page}`)).toBe(
      "302 to https://tapline.example/r/<redacted>"
    )
    expect(redactSecrets(`POST /u/${"f".repeat(32)}`)).toBe("POST /u/<redacted>")
    for (const plain of [
      "/e?bandId=DEMO-0001",
      "/r/registration.js",
      "tlk_short",
      "event tls_ in words",
      "/api/v1/organizations?limit=5"
    ]) {
      expect(redactSecrets(plain)).toBe(plain)
    }
  })
})

describe("personal data in log text and span attributes (issue 33)", () => {
  it("emails and international phone numbers are redacted; times, offsets and counts are not", () => {
    expect(redactSecrets("registered ada.lovelace+tix@example.co.uk for A-1")).toBe(
      "registered <email> for A-1"
    )
    expect(redactSecrets("sms to +44 7700 900123 failed")).toBe("sms to <phone> failed")
    expect(redactSecrets("sms to +447700900123")).toBe("sms to <phone>")
    expect(redactSecrets("call +1 (415) 555-0100 now")).toBe("call <phone> now")
    for (const plain of ["2026-12-07T08:00:00+01:00", "took +12 ms", "count 4477009001", "/e?bandId=A-1"]) {
      expect(redactSecrets(plain)).toBe(plain)
    }
  })

  it("a log line holding a registrant's email and phone prints neither", () => {
    const lines: Array<string> = []
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) => {
      lines.push(String(chunk))
      return true
    }) as typeof process.stdout.write
    try {
      Effect.runSync(
        Effect.logInfo("registrant ada@example.com updated").pipe(
          Effect.annotateLogs({ phone: "+447700900123" }),
          Effect.provide(Logger.replace(Logger.defaultLogger, jsonLogger))
        )
      )
    } finally {
      process.stdout.write = write
    }
    const line = lines.join("")
    expect(line).toContain("registrant <email> updated")
    expect(line).toContain('"phone":"<phone>"')
    expect(line).not.toContain("ada@example.com")
    expect(line).not.toContain("7700900123")
  })

  it("a span attribute holding an email or a phone is exported redacted", () => {
    const attributes = new Map<string, unknown>()
    const exporting = Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        const span = Effect.runSync(Effect.tracer).span(name, parent, context, links, startTime, kind)
        const attribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          attributes.set(key, value)
          attribute(key, value)
        }
        return span
      },
      context: (f) => f()
    })
    Effect.runSync(
      Effect.void.pipe(
        Effect.withSpan("Registrants.update", {
          attributes: { to: "ada@example.com", sms: "+447700900123" }
        }),
        Effect.withTracer(sampling(exporting, "always_on", 1))
      )
    )
    expect(attributes.get("to")).toBe("<email>")
    expect(attributes.get("sms")).toBe("<phone>")
  })
})
