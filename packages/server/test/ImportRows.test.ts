import { describe, expect, it } from "@effect/vitest"
import { fromCsv } from "../src/Bands/ImportRows.js"

const lines = (text: string) => {
  const parsed = fromCsv(text)
  if (!parsed.ok) throw new Error(parsed.message)
  return { valid: parsed.rows.valid.map((r) => r.line), invalid: parsed.rows.invalid.map((r) => r.line) }
}

describe("CSV import rows", () => {
  it("reports the line a spreadsheet shows, with and without quoted fields spanning lines", () => {
    // No quote character: the fast path counts lines itself, empty lines included.
    expect(lines("band_uid,registrant_name\nA-1,Ann\n\nbad id!,Bob\nA-2,Cy\n")).toEqual({
      valid: [2, 5],
      invalid: [4]
    })
    // A quoted field over two lines: csv-parse's own line count.
    expect(lines('band_uid,registrant_name\nA-1,"Ann\nSmith"\n\nbad id!,Bob\nA-2,Cy\n')).toEqual({
      valid: [3, 6],
      invalid: [5]
    })
    expect(lines("\r\nband_uid\r\nA-1\r\n\r\nA-2\r\n")).toEqual({ valid: [3, 5], invalid: [] })
  })
})

describe("CSV import rows with a phone, a locale and consent (issue 33)", () => {
  it("are normalised (E.164, canonical locale, yes/no), and a bad one is reported on its line naming the field", () => {
    const parsed = fromCsv(
      [
        "band_uid,name,email,phone,locale,consent_email,consent_sms,consent_wording",
        "A-1,Ann,ann@example.com,+44 7911 123456,en-gb,yes,no,News by email.",
        "A-2,Bob,,,,,,",
        "A-3,Cy,,07911 123456,,,,",
        "A-4,Di,,,klingon please,,,",
        "A-5,Ed,,,,maybe,,",
        "A-6,Flo,,,,,yes,",
        "A-7,Gus,,+44 7911 123456\u0007,,,,"
      ].join("\n")
    )
    if (!parsed.ok) throw new Error(parsed.message)
    expect(parsed.rows.valid.map(({ line: _, tags: __, ...row }) => row)).toEqual([
      {
        bandUid: "A-1",
        registrantName: "Ann",
        registrantEmail: "ann@example.com",
        phone: "+447911123456",
        locale: "en-GB",
        consentEmail: true,
        consentSms: false,
        consentWording: "News by email."
      },
      {
        bandUid: "A-2",
        registrantName: "Bob",
        registrantEmail: null,
        phone: null,
        locale: null,
        consentEmail: null,
        consentSms: null,
        consentWording: null
      }
    ])
    expect(parsed.rows.invalid.map((row) => [row.line, row.message.split(":")[0]])).toEqual([
      [4, "phone"],
      [5, "locale"],
      [6, "consent_email"],
      [7, "consent_wording"],
      [8, "phone"]
    ])
  })
})
