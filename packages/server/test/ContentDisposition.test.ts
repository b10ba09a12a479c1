import { describe, expect, it } from "vitest"
import { exportFilename } from "../src/Exports/Exports.js"
import { asciiFilename, contentDisposition, slug } from "../src/Storage/ContentDisposition.js"

describe("download file names", () => {
  it("an export is named after its event, in the event's own letters, and its day", () => {
    expect(exportFilename("taps", "Fête 東京", "2026-12-06")).toBe("taps-fête-東京-2026-12-06.csv")
    expect(exportFilename("taps", "Harbour Night / 2026", "2026-07-12")).toBe(
      "taps-harbour-night-2026-2026-07-12.csv"
    )
    expect(exportFilename("taps", "!!!", "2026-07-12")).toBe("taps-event-2026-07-12.csv")
    expect(exportFilename("taps", null, "2026-07-12")).toBe("taps-event-2026-07-12.csv")
    expect(exportFilename("audit", null, "2026-07-12")).toBe("audit-log-2026-07-12.csv")
    expect([...slug("x".repeat(300), "event")]).toHaveLength(60)
  })

  it("Content-Disposition: an ASCII filename for every client, filename* (UTF-8) when the name is more", () => {
    expect(contentDisposition("taps-harbour-2026-07-12.csv")).toBe(
      'attachment; filename="taps-harbour-2026-07-12.csv"'
    )
    expect(contentDisposition("taps-fête-東京-2026-12-06.csv")).toBe(
      "attachment; filename=\"taps-fete-2026-12-06.csv\"; filename*=UTF-8''taps-f%C3%AAte-%E6%9D%B1%E4%BA%AC-2026-12-06.csv"
    )
    expect(contentDisposition("東京.csv")).toBe(
      "attachment; filename=\"download.csv\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.csv"
    )
  })

  it("nothing a name holds can break out of the header", () => {
    for (const name of [
      'a"b.csv',
      "a\\b.csv",
      "a\r\nSet-Cookie: x=1.csv",
      "it's (1)*.csv",
      "../../etc/passwd"
    ]) {
      const header = contentDisposition(name)
      expect(header).not.toMatch(/[\r\n\\]/)
      expect(header.match(/"/g)).toHaveLength(2)
      expect(header).toMatch(
        /^attachment; filename="[A-Za-z0-9._-]+"(; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_`|~%-]+)?$/
      )
    }
    expect(asciiFilename("../../etc/passwd")).toBe("etc-passwd")
  })
})
