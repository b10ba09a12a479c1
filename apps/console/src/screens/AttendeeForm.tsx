import type { ConsentChannel, ConsentInput } from "@tapline/domain"
import { type FormEvent, type ReactNode, useState } from "react"
import { Field } from "../ui/Field.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useApiForm } from "../ui/useApiForm.js"

export const CHANNELS: ReadonlyArray<ConsentChannel> = ["email", "sms", "push"]

export const CHANNEL_LABEL: Record<ConsentChannel, string> = { email: "Email", sms: "SMS", push: "Push" }

/**
 * What the attendee forms say for each refused field. Phone and locale are checked by the API (a number against
 * its country's plan): their messages here stand in only when the API gives none of its own.
 */
export const ATTENDEE_MESSAGES = {
  bandId: "The band's UID, as printed on it, of a band of this event.",
  name: "A name of up to 200 characters.",
  email: "An email address such as ada@example.com.",
  phone: "An international number: + and the country code, then the number.",
  locale: "A language tag such as en, en-GB or fr-CA.",
  consent_email: "Say what the person was shown when they agreed.",
  consent_sms: "Say what the person was shown when they agreed.",
  consent_push: "Say what the person was shown when they agreed."
} as const

/** A channel's choice in the form: left as it is, given, or withdrawn. */
type Choice = "" | "granted" | "withdrawn"

export interface AttendeeValues {
  readonly name: string
  readonly email: string
  readonly phone: string
  readonly locale: string
}

/**
 * A registrant's name, email, phone, locale and a consent per channel, for a new one and for an edit. A consent
 * given needs the text the person was shown; that is checked here, before anything is sent. `extra` comes first
 * (the band of a new registrant).
 */
export const AttendeeForm = <A,>({
  idPrefix,
  label,
  submitLabel,
  initial,
  extra,
  beforeSubmit,
  onSubmit,
  onSaved
}: {
  readonly idPrefix: string
  readonly label: string
  readonly submitLabel: string
  readonly initial: AttendeeValues
  readonly extra?: (fields: Readonly<Record<string, string>>) => ReactNode
  /** A check of the extra fields; the name of a refused one, or null. */
  readonly beforeSubmit?: () => string | null
  readonly onSubmit: (values: AttendeeValues, consents: ReadonlyArray<ConsentInput>) => Promise<A>
  readonly onSaved: (answer: A) => void
}) => {
  const [values, setValues] = useState(initial)
  const [choices, setChoices] = useState<Record<ConsentChannel, Choice>>({ email: "", sms: "", push: "" })
  const [wordings, setWordings] = useState<Record<ConsentChannel, string>>({ email: "", sms: "", push: "" })
  const form = useApiForm(ATTENDEE_MESSAGES)
  const set = (patch: Partial<AttendeeValues>) => setValues({ ...values, ...patch })

  const save = (e: FormEvent) => {
    e.preventDefault()
    form.check()
    const refused = [
      beforeSubmit?.() ?? null,
      ...CHANNELS.filter((c) => choices[c] === "granted" && wordings[c].trim() === "").map(
        (c) => `consent_${c}`
      )
    ].filter((f) => f !== null)
    if (refused.length > 0) {
      for (const field of refused) form.refuse(field)
      return
    }
    const consents = CHANNELS.filter((c) => choices[c] !== "").map(
      (channel): ConsentInput => ({
        channel,
        granted: choices[channel] === "granted",
        ...(wordings[channel].trim() === "" ? {} : { wording: wordings[channel].trim() })
      })
    )
    form.submit(() => onSubmit(values, consents), onSaved)
  }

  return (
    <form onSubmit={save} noValidate aria-label={label} className="panel">
      <ErrorNotice error={form.error} />
      {extra?.(form.fields)}
      <div className="field-row">
        <Field id={`${idPrefix}-name`} label="Name" error={form.fields.name}>
          {(control) => (
            <input
              {...control}
              maxLength={200}
              value={values.name}
              onChange={(e) => set({ name: e.target.value })}
            />
          )}
        </Field>
        <Field id={`${idPrefix}-email`} label="Email" error={form.fields.email}>
          {(control) => (
            <input
              {...control}
              type="email"
              value={values.email}
              onChange={(e) => set({ email: e.target.value })}
            />
          )}
        </Field>
      </div>
      <div className="field-row">
        <Field
          id={`${idPrefix}-phone`}
          label="Phone"
          error={form.fields.phone}
          hint="International: + and the country code, e.g. +33 6 12 34 56 78."
        >
          {(control) => (
            <input
              {...control}
              type="tel"
              inputMode="tel"
              value={values.phone}
              onChange={(e) => set({ phone: e.target.value })}
            />
          )}
        </Field>
        <Field id={`${idPrefix}-locale`} label="Language" error={form.fields.locale} hint="e.g. en-GB">
          {(control) => (
            <input
              {...control}
              maxLength={35}
              value={values.locale}
              onChange={(e) => set({ locale: e.target.value })}
            />
          )}
        </Field>
      </div>
      <fieldset>
        <legend>Consent</legend>
        {CHANNELS.map((channel) => (
          <div className="field-row" key={channel}>
            <Field id={`${idPrefix}-consent-${channel}`} label={CHANNEL_LABEL[channel]} error={undefined}>
              {(control) => (
                <select
                  {...control}
                  value={choices[channel]}
                  onChange={(e) => setChoices({ ...choices, [channel]: e.target.value as Choice })}
                >
                  <option value="">As it is</option>
                  <option value="granted">Given</option>
                  <option value="withdrawn">Withdrawn</option>
                </select>
              )}
            </Field>
            <Field
              id={`${idPrefix}-wording-${channel}`}
              label={`${CHANNEL_LABEL[channel]}: text shown`}
              error={form.fields[`consent_${channel}`]}
            >
              {(control) => (
                <input
                  {...control}
                  maxLength={2000}
                  value={wordings[channel]}
                  onChange={(e) => setWordings({ ...wordings, [channel]: e.target.value })}
                />
              )}
            </Field>
          </div>
        ))}
      </fieldset>
      <button type="submit">{submitLabel}</button>
    </form>
  )
}

/** An optional field of a new registrant: nothing typed is nothing sent. */
export const given = (typed: string): string | undefined => (typed.trim() === "" ? undefined : typed.trim())

/** A field of an edit: unchanged is not sent, emptied is removed (null). */
export const changed = (typed: string, before: string | null): string | null | undefined => {
  const now = typed.trim() === "" ? null : typed.trim()
  return now === before ? undefined : now
}

/** A moment to the second in UTC, `2026-07-04 19:30:00`; a dash for none. */
export const at = (date: Date | null) =>
  date === null ? "—" : date.toISOString().slice(0, 19).replace("T", " ")
