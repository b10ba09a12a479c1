/*
 * CSV as Tapline writes it, for the server's exports and the console's downloads alike: one rule, so a file
 * made in the browser is as safe to open as one made by the API.
 */

/**
 * A cell a spreadsheet would run as a formula (`=HYPERLINK(…)`, `@SUM(…)`, `+`, `-`, or a leading tab or CR
 * that some applications skip) gets a leading apostrophe, as OWASP's CSV injection advice says: user agents,
 * utm values, names, window titles and band ids are written by anyone who can tap, import or type, and
 * organisers open these files in Excel.
 */
const FORMULA_START = /^[=+\-@\t\r]/
export const neutralizeFormula = (text: string): string => (FORMULA_START.test(text) ? `'${text}` : text)

/** One cell: neutralised, then quoted when it holds a quote, a comma or a line break (RFC 4180). */
export const csvCell = (text: string): string => {
  const safe = neutralizeFormula(text)
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

/** Rows as CSV text, CRLF after each line (RFC 4180). */
export const csvText = (rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  rows.map((row) => `${row.map(csvCell).join(",")}\r\n`).join("")
