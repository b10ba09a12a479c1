import { describe, expect, it } from "@effect/vitest"
import { csvText, neutralizeFormula } from "@tapline/domain"

/*
 * The one CSV rule of server exports and the console's downloads: a cell a spreadsheet would run as a
 * formula starts with an apostrophe, whatever else quoting does. `csvText` is what the console's analytics
 * download builds its file with (apps/console summaryCsv).
 */

/** A window title an editor typed, and band ids an import or an auto-assigned tap may bring. */
const HOSTILE = ['=HYPERLINK("https://evil.example","x")', "+1", "-1", "@SUM(1+1)", "\t=1", "\r=1"]

describe("CSV cells", () => {
  it("neutralises every cell a spreadsheet would run, and nothing else", () => {
    for (const text of HOSTILE) expect(neutralizeFormula(text)).toBe(`'${text}`)
    for (const text of ["Mozilla/5.0", "a=b", "", "A-1", "1-2"]) expect(neutralizeFormula(text)).toBe(text)
  })

  it("builds CSV text with neutralised cells, quoted where RFC 4180 needs it", () => {
    const text = csvText([
      ["section", "name", "value"],
      ["window", HOSTILE[0]!, "4"],
      ...HOSTILE.slice(1).map((uid) => ["top band", uid, "1"])
    ])
    expect(text).toBe(
      [
        "section,name,value",
        `window,"'=HYPERLINK(""https://evil.example"",""x"")",4`,
        "top band,'+1,1",
        "top band,'-1,1",
        "top band,'@SUM(1+1),1",
        "top band,'\t=1,1",
        `top band,"'\r=1",1`,
        ""
      ].join("\r\n")
    )
  })
})
