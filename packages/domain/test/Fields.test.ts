import { describe, expect, it } from "@effect/vitest"
import { BandUid, HttpUrl, Instant, Slug, TimeZone } from "@tapline/domain"
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

  it("URLs decode to their serialised, header-safe form; control characters are refused", () => {
    const decode = Schema.decodeUnknownEither(HttpUrl)
    const serialised = (input: string) => {
      const result = decode(input)
      if (result._tag === "Left") throw new Error(`${input} refused: ${result.left.message}`)
      return result.right
    }
    expect(serialised("https://example.jp/イベント")).toBe(
      "https://example.jp/%E3%82%A4%E3%83%99%E3%83%B3%E3%83%88"
    )
    expect(serialised("https://bücher.example/")).toBe("https://xn--bcher-kva.example/")
    expect(serialised("https://example.com/🎉?q=ü#é")).toBe(
      "https://example.com/%F0%9F%8E%89?q=%C3%BC#%C3%A9"
    )
    expect(serialised("HTTPS://Example.COM")).toBe("https://example.com/")
    for (const value of ["https://x.example/a b", "https://bücher.example/イ?x=🎉"]) {
      expect(serialised(value)).toMatch(/^[!-~]+$/)
    }
    for (const bad of [
      "https://example.com/\r\nSet-Cookie: a=b",
      "https://exa\nmple.com/",
      "https://example.com/\u0000",
      "https://example.com/\t",
      "https://example.com/\u007f",
      "https://example.com/\u0085"
    ]) {
      const result = decode(bad)
      expect(result._tag, JSON.stringify(bad)).toBe("Left")
      if (result._tag === "Left") expect(result.left.message).toContain("control characters")
    }
    // Serialising cannot lengthen a URL past the limit unnoticed.
    expect(decode(`https://example.com/${"é".repeat(1000)}`)._tag).toBe("Left")
  })

  it("instants are strict ISO 8601 with a time zone: nothing Date would guess at", () => {
    const decode = Schema.decodeUnknownEither(Instant)
    for (const valid of [
      "2026-07-01T19:00:00Z",
      "2026-07-01T19:00Z",
      "2026-07-01T21:00:00.123+02:00",
      "2026-07-01T19:00:00-0500"
    ]) {
      expect(decode(valid)._tag, valid).toBe("Right")
    }
    expect(Schema.decodeSync(Instant)("2026-07-01T21:00:00+02:00").epochMillis).toBe(Date.UTC(2026, 6, 1, 19))
    for (const invalid of [
      "1",
      "2026",
      "2026-07-01",
      "2026-07-01 19:00",
      "2026-07-01T19:00:00",
      "July 1, 2026",
      "2026-13-01T00:00:00Z"
    ]) {
      expect(decode(invalid)._tag, invalid).toBe("Left")
    }
  })

  it("time zones are IANA names", () => {
    expect(Schema.is(TimeZone)("Europe/Paris")).toBe(true)
    expect(Schema.is(TimeZone)("Mars/Olympus")).toBe(false)
  })
})
