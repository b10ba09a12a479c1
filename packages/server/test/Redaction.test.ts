import { describe, expect, it } from "vitest"
import { redactSecrets } from "../src/Telemetry/Redaction.js"

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
    for (const plain of [
      "/e?bandId=DEMO-0001",
      "tlk_short",
      "event tls_ in words",
      "/api/v1/organizations?limit=5"
    ]) {
      expect(redactSecrets(plain)).toBe(plain)
    }
  })
})
