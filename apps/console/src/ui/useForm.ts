import { ParseResult } from "effect"
import { useCallback, useState } from "react"
import { describe, tagOf } from "../api.js"

/** The message shown next to each field a failure names, by the field's name in the payload. */
export type FieldErrors = Readonly<Record<string, string>>

/**
 * What the form says for each of its fields when the value is refused, in the organiser's words. The schema's
 * own text ("Expected a string matching the pattern …, actual …") never reaches the page.
 */
export type FieldMessages = Readonly<Record<string, string>>

interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
}

/**
 * The issues of a refused payload: the typed client's own encoding (a `ParseError`, before anything is sent),
 * the API's `HttpApiDecodeError` (its `issues`), or an `InvalidRequest` about one field the form knows. The API
 * refuses what only it can check (a webhook URL that resolves to a private address, a flag reason without the
 * flag) with a message that starts with the field's name ("url: …"). Null for every other failure.
 */
const issuesOf = (failure: unknown, messages: FieldMessages): ReadonlyArray<Issue> | null => {
  if (ParseResult.isParseError(failure)) return ParseResult.ArrayFormatter.formatErrorSync(failure)
  const tag = tagOf(failure)
  if (tag === "HttpApiDecodeError") {
    const issues = (failure as { issues?: unknown }).issues
    return Array.isArray(issues) ? (issues as ReadonlyArray<Issue>) : []
  }
  const field = tag === "InvalidRequest" ? /^(\w+): /.exec(describe(failure))?.[1] : undefined
  if (field !== undefined && Object.hasOwn(messages, field)) return [{ path: [field] }]
  return null
}

/**
 * The field a path names: the first key of the payload the form knows. A path into the URL or headers, or a
 * field the form did not name, has none.
 */
const fieldOf = (path: ReadonlyArray<PropertyKey>, messages: FieldMessages): string | undefined =>
  path.map(String).find((key) => Object.hasOwn(messages, key))

export const fieldErrorsOf = (
  failure: unknown,
  messages: FieldMessages
): { readonly fields: FieldErrors; readonly form: string | null } => {
  const issues = issuesOf(failure, messages)
  if (issues === null) return { fields: {}, form: describe(failure) }
  const fields: Record<string, string> = {}
  for (const issue of issues) {
    const field = fieldOf(issue.path, messages)
    if (field !== undefined) fields[field] ??= messages[field]!
  }
  return {
    fields,
    form:
      Object.keys(fields).length > 0 ? null : "Some of these values were refused; check them and try again."
  }
}

/**
 * A form's submission: `submit` clears the last errors, makes the change, then calls `done` with the API's
 * answer. A refused value is shown next to its field (`fields`, with the form's own message); any other
 * failure, in words, above the form (`error`).
 */
export const useForm = (messages: FieldMessages) => {
  const [fields, setFields] = useState<FieldErrors>({})
  const [error, setError] = useState<string | null>(null)
  const submit = useCallback(
    <A>(change: () => Promise<A>, done: (answer: A) => void = () => {}) => {
      setFields({})
      setError(null)
      change()
        .then(done)
        .catch((failure: unknown) => {
          const found = fieldErrorsOf(failure, messages)
          setFields(found.fields)
          setError(found.form)
        })
    },
    [messages]
  )
  /**
   * Starts an attempt that checks values before anything is sent (a number, a day after another): the last
   * attempt's messages go, so a field the organiser has since corrected no longer shows one.
   */
  const check = useCallback(() => {
    setFields({})
    setError(null)
  }, [])
  /** Marks a field as refused before anything is sent (a check the schema cannot make, e.g. a number). */
  const refuse = useCallback(
    (field: string) => {
      const message = messages[field]
      if (message !== undefined) setFields((current) => ({ ...current, [field]: message }))
    },
    [messages]
  )
  return { fields, error, submit, check, refuse }
}
