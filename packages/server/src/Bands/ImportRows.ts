import { parse } from "csv-parse/sync"
import { checkLocale, checkPhone } from "../Registrants/Fields.js"

/** A row that passed validation, with the line it came from. */
export interface ValidRow {
  readonly line: number
  readonly bandUid: string
  readonly registrantName: string | null
  readonly registrantEmail: string | null
  /** E.164. */
  readonly phone: string | null
  readonly locale: string | null
  /** Consent per channel as the row gives it (absent: not asked), with the wording shown. */
  readonly consentEmail: boolean | null
  readonly consentSms: boolean | null
  readonly consentWording: string | null
  readonly tags: ReadonlyArray<string>
}

export interface InvalidRow {
  readonly line: number
  readonly message: string
}

export interface CheckedRows {
  readonly received: number
  readonly valid: ReadonlyArray<ValidRow>
  readonly invalid: ReadonlyArray<InvalidRow>
}

const BAND_UID = /^[A-Za-z0-9-]{1,64}$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

const optionalText = (value: unknown, field: string, max: number): string | null => {
  if (value === undefined || value === null) return null
  if (typeof value !== "string") throw new Error(`${field}: must be text`)
  const trimmed = value.trim()
  if (trimmed.length > max) throw new Error(`${field}: at most ${max} characters`)
  return trimmed.length === 0 ? null : trimmed
}

const YES = new Set(["yes", "y", "true", "1"])
const NO = new Set(["no", "n", "false", "0"])

const optionalConsent = (value: unknown, field: string): boolean | null => {
  if (value === undefined || value === null) return null
  if (typeof value === "boolean") return value
  if (typeof value !== "string") throw new Error(`${field}: yes or no`)
  const text = value.trim().toLowerCase()
  if (text.length === 0) return null
  if (YES.has(text)) return true
  if (NO.has(text)) return false
  throw new Error(`${field}: yes or no`)
}

const checkRow = (raw: unknown): Omit<ValidRow, "line"> => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error("a row must be an object")
  const row = raw as Record<string, unknown>
  const bandUid = typeof row.bandUid === "string" ? row.bandUid.trim() : undefined
  if (bandUid === undefined || bandUid.length === 0) throw new Error("bandUid: required")
  if (!BAND_UID.test(bandUid)) throw new Error("bandUid: 1-64 characters of A-Z, a-z, 0-9 and '-'")
  const registrantName = optionalText(row.registrantName, "registrantName", 200)
  const registrantEmail = optionalText(row.registrantEmail, "registrantEmail", 320)
  if (registrantEmail !== null && !EMAIL.test(registrantEmail))
    throw new Error("registrantEmail: not an email")
  const phoneText = optionalText(row.phone, "phone", 32)
  let phone: string | null = null
  if (phoneText !== null) {
    const checked = checkPhone(phoneText)
    if (!checked.ok) throw new Error(checked.reason)
    phone = checked.value
  }
  const localeText = optionalText(row.locale, "locale", 35)
  let locale: string | null = null
  if (localeText !== null) {
    const checked = checkLocale(localeText)
    if (!checked.ok) throw new Error(checked.reason)
    locale = checked.value
  }
  const consentEmail = optionalConsent(row.consentEmail, "consent_email")
  const consentSms = optionalConsent(row.consentSms, "consent_sms")
  const consentWording = optionalText(row.consentWording, "consent_wording", 2000)
  if ((consentEmail === true || consentSms === true) && consentWording === null)
    throw new Error("consent_wording: the text shown is required when a consent is granted")
  const tags = row.tags === undefined || row.tags === null ? [] : row.tags
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== "string")) {
    throw new Error("tags: must be a list of names")
  }
  const names = [...new Set((tags as Array<string>).map((tag) => tag.trim()).filter((tag) => tag.length > 0))]
  if (names.some((name) => name.length > 64)) throw new Error("tags: a name has at most 64 characters")
  if (names.length > 20) throw new Error("tags: at most 20 per band")
  return {
    bandUid,
    registrantName,
    registrantEmail,
    phone,
    locale,
    consentEmail,
    consentSms,
    consentWording,
    tags: names
  }
}

/**
 * Checks every row on its own: a bad row is reported with its line and never stops the others. A band id
 * that appears twice keeps its first row; the repeat is reported.
 */
export const checkRows = (
  rows: ReadonlyArray<{ readonly line: number; readonly raw: unknown }>
): CheckedRows => {
  const valid: Array<ValidRow> = []
  const invalid: Array<InvalidRow> = []
  const seen = new Map<string, number>()
  for (const { line, raw } of rows) {
    try {
      const row = checkRow(raw)
      const first = seen.get(row.bandUid)
      if (first !== undefined) {
        invalid.push({ line, message: `bandUid: ${row.bandUid} already on line ${first}` })
        continue
      }
      seen.set(row.bandUid, line)
      valid.push({ line, ...row })
    } catch (error) {
      invalid.push({ line, message: (error as Error).message })
    }
  }
  return { received: rows.length, valid, invalid }
}

export const fromJson = (rows: ReadonlyArray<unknown>) =>
  checkRows(rows.map((raw, i) => ({ line: i + 1, raw })))

const HEADER_ALIASES: Record<string, string> = {
  band_uid: "bandUid",
  banduid: "bandUid",
  band_id: "bandUid",
  registrant_name: "registrantName",
  registrantname: "registrantName",
  name: "registrantName",
  registrant_email: "registrantEmail",
  registrantemail: "registrantEmail",
  email: "registrantEmail",
  phone: "phone",
  locale: "locale",
  consent_email: "consentEmail",
  consent_sms: "consentSms",
  consent_wording: "consentWording",
  tags: "tags"
}

const options = { bom: true, relax_column_count: true, max_record_size: 64 * 1024 } as const

/** csv-parse's own line numbers: needed when a quoted field may span lines, and costly (about 0.4 s per 100 000). */
const parseWithLines = (text: string) =>
  parse(text, { ...options, skip_empty_lines: true, info: true }) as unknown as Array<{
    record: Array<string>
    info: { lines: number }
  }>

/**
 * Without a quote character no record spans lines, so the line of a record is its position, counting the
 * empty lines that are skipped here rather than by the parser.
 */
const parseLineByLine = (text: string) => {
  const all = parse(text, { ...options, skip_empty_lines: false }) as Array<Array<string>>
  const records: Array<{ record: Array<string>; info: { lines: number } }> = []
  all.forEach((record, i) => {
    if (record.length === 1 && record[0] === "") return
    records.push({ record, info: { lines: i + 1 } })
  })
  return records
}

/**
 * CSV with a header row. Lines count as a spreadsheet shows them: the header is line 1. A CSV that cannot be
 * read at all (no band_uid column, broken quoting) is one error on the line where reading stopped.
 */
export const fromCsv = (
  text: string
): { readonly ok: true; readonly rows: CheckedRows } | { readonly ok: false; readonly message: string } => {
  let records: Array<{ record: Array<string>; info: { lines: number } }>
  try {
    records = text.includes('"') ? parseWithLines(text) : parseLineByLine(text)
  } catch (error) {
    return { ok: false, message: `CSV could not be read: ${(error as Error).message}` }
  }
  const [header, ...body] = records
  if (header === undefined) return { ok: true, rows: { received: 0, valid: [], invalid: [] } }
  const columns = header.record.map((name) => HEADER_ALIASES[name.toLowerCase().replace(/[\s-]/g, "_")])
  if (!columns.includes("bandUid")) return { ok: false, message: "CSV header: a band_uid column is required" }
  return {
    ok: true,
    rows: checkRows(
      body.map(({ record, info }) => {
        const raw: Record<string, unknown> = {}
        record.forEach((value, i) => {
          const column = columns[i]
          if (column === undefined) return
          raw[column] = column === "tags" ? value.split(";") : value
        })
        return { line: info.lines, raw }
      })
    )
  }
}
