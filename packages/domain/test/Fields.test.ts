import { describe, expect, it } from "@effect/vitest"
import { BandUid, HttpUrl, Slug, TimeZone } from "@tapline/domain"
import { Schema } from "effect"

describe("field schemas", () => {
  it("band ids: 1-64 characters of letters, digits and '-'", () => {
    for (const valid of ["A", "DEMO-0001", "a".repeat(64)]) expect(Schema.is(BandUid)(valid)).toBe(true)
    for (const invalid of ["", "a".repeat(65), "DEMO 1", "DÉMO", "id;drop", "../x", "%41"]) {
      expect(Schema.is(BandUid)(invalid), invalid).toBe(false)
    }
  })

  it("slugs are DNS labels in lower case", () => {
    for (const valid of ["demo", "a", "acme-events", "x1"]) expect(Schema.is(Slug)(valid)).toBe(true)
    for (const invalid of ["", "Demo", "-demo", "demo-", "de_mo", "a".repeat(64), "demo.tap"]) {
      expect(Schema.is(Slug)(invalid), invalid).toBe(false)
    }
  })

  it("redirect targets are absolute http(s) URLs only", () => {
    for (const valid of ["https://example.com/", "http://example.com/path?q=1"]) {
      expect(Schema.is(HttpUrl)(valid)).toBe(true)
    }
    for (const invalid of [
      "javascript:alert(1)",
      "//evil.example",
      "ftp://x.example",
      "data:text/html,x",
      "/relative"
    ]) {
      expect(Schema.is(HttpUrl)(invalid), invalid).toBe(false)
    }
  })

  it("time zones are IANA names", () => {
    expect(Schema.is(TimeZone)("Europe/Paris")).toBe(true)
    expect(Schema.is(TimeZone)("Mars/Olympus")).toBe(false)
  })
})
