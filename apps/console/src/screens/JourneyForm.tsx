import { JOURNEY_VARIABLES, type JourneyTrigger } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { Field } from "../ui/Field.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useApiForm } from "../ui/useApiForm.js"

type TriggerKind = JourneyTrigger["_tag"]
type WindowType = "PRE" | "LIVE" | "POST"

export const TRIGGER_LABEL: Record<TriggerKind, string> = {
  first_tap: "First tap of a band at the event",
  window_tap: "A tap in a window of a type",
  after_event: "Some minutes after the event ends",
  registration: "A registration received"
}

/** The trigger in words, for lists. */
export const describeTrigger = (trigger: JourneyTrigger): string => {
  switch (trigger._tag) {
    case "window_tap":
      return `A tap in a ${trigger.windowType} window`
    case "after_event":
      return `${trigger.minutes} min after the event ends`
    default:
      return TRIGGER_LABEL[trigger._tag]
  }
}

/**
 * What the journey forms say for each refused field. Subject and body are checked by the API too (an unknown
 * variable, a `{{` left open): its sentence, naming the variable, is shown instead.
 */
export const JOURNEY_MESSAGES = {
  name: "A name of up to 200 characters.",
  minutes: "A whole number of minutes, from 0 to 43 200 (30 days).",
  delayMinutes: "A whole number of minutes, from 0 to 43 200 (30 days).",
  subject: "One line of up to 200 characters.",
  body: "The message, up to 20 000 characters."
} as const

export interface JourneyValues {
  readonly name: string
  readonly trigger: JourneyTrigger
  readonly delayMinutes: number
  readonly subject: string
  readonly body: string
  readonly enabled: boolean
}

const MAX_MINUTES = 43_200

/** A whole number of minutes in range, or null. */
const minutes = (typed: string): number | null => {
  const n = Number(typed.trim())
  return typed.trim() !== "" && Number.isInteger(n) && n >= 0 && n <= MAX_MINUTES ? n : null
}

export const VARIABLES_HINT = `Variables: ${JOURNEY_VARIABLES.map((v) => `{{${v}}}`).join(", ")}; nothing else is filled in.`

/**
 * A journey's name, trigger (with its window type or minutes when the trigger needs one), delay, channel and
 * templates, for a new journey and for an edit. Numbers are checked here; the templates' variables by the API.
 */
export const JourneyForm = <A,>({
  idPrefix,
  label,
  submitLabel,
  initial,
  onSubmit,
  onSaved
}: {
  readonly idPrefix: string
  readonly label: string
  readonly submitLabel: string
  readonly initial: JourneyValues
  readonly onSubmit: (values: JourneyValues) => Promise<A>
  readonly onSaved: (answer: A) => void
}) => {
  const [name, setName] = useState(initial.name)
  const [kind, setKind] = useState<TriggerKind>(initial.trigger._tag)
  const [windowType, setWindowType] = useState<WindowType>(
    initial.trigger._tag === "window_tap" ? initial.trigger.windowType : "LIVE"
  )
  const [after, setAfter] = useState(
    initial.trigger._tag === "after_event" ? String(initial.trigger.minutes) : "60"
  )
  const [delay, setDelay] = useState(String(initial.delayMinutes))
  const [subject, setSubject] = useState(initial.subject)
  const [body, setBody] = useState(initial.body)
  const [enabled, setEnabled] = useState(initial.enabled)
  const form = useApiForm(JOURNEY_MESSAGES)

  const save = (e: FormEvent) => {
    e.preventDefault()
    form.check()
    const delayMinutes = minutes(delay)
    const afterMinutes = minutes(after)
    if (delayMinutes === null) form.refuse("delayMinutes")
    if (kind === "after_event" && afterMinutes === null) form.refuse("minutes")
    if (delayMinutes === null || (kind === "after_event" && afterMinutes === null)) return
    const trigger: JourneyTrigger =
      kind === "window_tap"
        ? { _tag: "window_tap", windowType }
        : kind === "after_event"
          ? { _tag: "after_event", minutes: afterMinutes! }
          : { _tag: kind }
    form.submit(() => onSubmit({ name, trigger, delayMinutes, subject, body, enabled }), onSaved)
  }

  return (
    <form onSubmit={save} noValidate aria-label={label} className="panel">
      <ErrorNotice error={form.error} />
      <Field id={`${idPrefix}-name`} label="Name" error={form.fields.name}>
        {(control) => (
          <input {...control} maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        )}
      </Field>
      <div className="field-row">
        <Field id={`${idPrefix}-trigger`} label="Trigger" error={undefined}>
          {(control) => (
            <select {...control} value={kind} onChange={(e) => setKind(e.target.value as TriggerKind)}>
              {(Object.keys(TRIGGER_LABEL) as Array<TriggerKind>).map((k) => (
                <option key={k} value={k}>
                  {TRIGGER_LABEL[k]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {kind === "window_tap" && (
          <Field id={`${idPrefix}-window-type`} label="Window type" error={undefined}>
            {(control) => (
              <select
                {...control}
                value={windowType}
                onChange={(e) => setWindowType(e.target.value as WindowType)}
              >
                <option value="PRE">PRE (before)</option>
                <option value="LIVE">LIVE (during)</option>
                <option value="POST">POST (after)</option>
              </select>
            )}
          </Field>
        )}
        {kind === "after_event" && (
          <Field id={`${idPrefix}-after`} label="Minutes after the end" error={form.fields.minutes}>
            {(control) => (
              <input
                {...control}
                inputMode="numeric"
                value={after}
                onChange={(e) => setAfter(e.target.value)}
              />
            )}
          </Field>
        )}
      </div>
      <div className="field-row">
        <Field
          id={`${idPrefix}-delay`}
          label="Delay (minutes)"
          error={form.fields.delayMinutes}
          hint="Waited after the trigger; outside the event's quiet hours."
        >
          {(control) => (
            <input
              {...control}
              inputMode="numeric"
              value={delay}
              onChange={(e) => setDelay(e.target.value)}
            />
          )}
        </Field>
        <Field
          id={`${idPrefix}-channel`}
          label="Channel"
          error={undefined}
          hint="Sent to those who consented."
        >
          {(control) => (
            <select {...control} value="email" disabled>
              <option value="email">Email</option>
            </select>
          )}
        </Field>
      </div>
      <Field id={`${idPrefix}-subject`} label="Subject" error={form.fields.subject} hint={VARIABLES_HINT}>
        {(control) => (
          <input {...control} maxLength={200} value={subject} onChange={(e) => setSubject(e.target.value)} />
        )}
      </Field>
      <Field id={`${idPrefix}-body`} label="Body" error={form.fields.body} hint={VARIABLES_HINT}>
        {(control) => (
          <textarea
            {...control}
            rows={8}
            maxLength={20_000}
            value={body}
            onChange={(e) => setBody(e.target.value)}
          />
        )}
      </Field>
      <label>
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <p>
        <button type="submit">{submitLabel}</button>
      </p>
    </form>
  )
}
