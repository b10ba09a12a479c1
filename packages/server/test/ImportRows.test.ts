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
