import { useCallback, useState } from "react"
import { describe, tagOf } from "../api.js"
import { type FieldErrors, type FieldMessages, useForm } from "./useForm.js"

/**
 * The API's own words for a field it refused: an `InvalidRequest` or `Conflict` whose message starts with a
 * field the form knows ("phone: not a valid number for its country code", "subject: unknown variable
 * {{nmae}}; known: …"). Only the API can check these (a number against its country's plan, a template's
 * variables), and its sentence says more than a fixed one could. Null for anything else.
 */
export const apiFieldMessage = (failure: unknown, messages: FieldMessages): FieldErrors | null => {
  const tag = tagOf(failure)
  if (tag !== "InvalidRequest" && tag !== "Conflict") return null
  const found: Record<string, string> = {}
  // One message may name several fields ("subject: …; body: …").
  for (const part of describe(failure).split("; ")) {
    const match = /^(\w+): (.+)$/.exec(part)
    if (match !== null && Object.hasOwn(messages, match[1]!)) found[match[1]!] ??= match[2]!
    else if (Object.keys(found).length > 0) {
      // A continuation of the previous field's sentence ("known: {{name}}, …").
      const last = Object.keys(found).at(-1)!
      found[last] = `${found[last]}; ${part}`
    }
  }
  return Object.keys(found).length === 0 ? null : found
}

/**
 * `useForm`, with the API's sentence next to a field it refused for a reason only it can check; a value the
 * contract refuses shows the form's own message, as everywhere else.
 */
export const useApiForm = (messages: FieldMessages) => {
  const form = useForm(messages)
  const [said, setSaid] = useState<FieldErrors>({})
  const submit = useCallback(
    <A>(change: () => Promise<A>, done: (answer: A) => void = () => {}) => {
      setSaid({})
      form.submit(
        () =>
          change().catch((failure: unknown) => {
            setSaid(apiFieldMessage(failure, messages) ?? {})
            throw failure
          }),
        done
      )
    },
    [form.submit, messages]
  )
  const check = useCallback(() => {
    setSaid({})
    form.check()
  }, [form.check])
  // A failure shown by its field is not repeated above the form.
  const error = Object.keys(said).length > 0 ? null : form.error
  return { ...form, fields: { ...form.fields, ...said }, error, submit, check }
}
