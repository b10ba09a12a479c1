import { JOURNEY_VARIABLES } from "@tapline/domain"

/*
 * A journey's templates: `{{variable}}` replaced by a value, nothing else. No expressions, no loops, no code:
 * a template is text with holes. Unknown variables and an unclosed `{{` are refused when the journey is saved,
 * so a send never meets one. The HTML part escapes the template's text and every value alike.
 */

export type Variable = (typeof JOURNEY_VARIABLES)[number]
export type Values = Readonly<Record<Variable, string>>

const HOLE = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g

/** What is wrong with a template, in a sentence that names it; undefined when it is well formed. */
export const problem = (field: string, template: string): string | undefined => {
  const unknown = [...template.matchAll(HOLE)]
    .map((match) => match[1]!)
    .filter((name) => !(JOURNEY_VARIABLES as ReadonlyArray<string>).includes(name))
  if (unknown.length > 0)
    return `${field}: unknown variable ${[...new Set(unknown)].map((n) => `{{${n}}}`).join(", ")}; known: ${JOURNEY_VARIABLES.map((n) => `{{${n}}}`).join(", ")}`
  if (template.replace(HOLE, "").includes("{{")) return `${field}: "{{" without a variable name and "}}"`
  return undefined
}

const fill = (template: string, values: Values, encode: (text: string) => string) => {
  let out = ""
  let last = 0
  for (const match of template.matchAll(HOLE)) {
    out += encode(template.slice(last, match.index))
    out += encode(values[match[1] as Variable] ?? "")
    last = match.index + match[0].length
  }
  return out + encode(template.slice(last))
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!
  )

export interface Rendered {
  readonly subject: string
  readonly text: string
  readonly html: string
}

/** The message: a one-line subject (a value's line breaks become spaces), a text part and an HTML part. */
export const render = (subject: string, body: string, values: Values): Rendered => ({
  subject: fill(subject, values, (text) => text).replace(/[\r\n]+/g, " "),
  text: fill(body, values, (text) => text),
  html: `<!doctype html><html><body><p>${fill(body, values, escapeHtml).replace(/\r?\n/g, "<br>\n")}</p></body></html>`
})
