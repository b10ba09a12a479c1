import {
  JOURNEY_VARIABLES,
  type JourneyChannel,
  type JourneyChannelState,
  type JourneyTrigger,
  SMS_MAX_LENGTH
} from "@tapline/domain"
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

export const CHANNEL_LABEL: Record<JourneyChannel, string> = {
  email: "Email",
  sms: "SMS",
  push: "Push notification"
}

/** A channel's state in words: its providers, or why it cannot send. */
export const describeChannel = (state: JourneyChannelState): string =>
  state.configured
    ? `${CHANNEL_LABEL[state.channel]}: ${state.providers.join(", ")}`
    : `${CHANNEL_LABEL[state.channel]}: not configured (no provider)`

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
  readonly channel: JourneyChannel
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
  channels,
  onSubmit,
  onSaved
}: {
  readonly idPrefix: string
  readonly label: string
  readonly submitLabel: string
  readonly initial: JourneyValues
  /** Each channel's state (GET …/journeys/channels); null while loading: only the journey's own is offered. */
  readonly channels: ReadonlyArray<JourneyChannelState> | null
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
  const [channel, setChannel] = useState<JourneyChannel>(initial.channel)
  const offered = channels ?? [{ channel: initial.channel, configured: true, providers: [] }]
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
    form.submit(() => onSubmit({ name, trigger, delayMinutes, channel, subject, body, enabled }), onSaved)
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
          hint={
            channel === "sms"
              ? `Sent to those who consented to SMS. The body only, at most ${SMS_MAX_LENGTH} characters once filled in.`
              : channel === "push"
                ? "Sent to the devices of those who consented to push: the subject is the title, the page the link."
                : "Sent to those who consented."
          }
        >
          {(control) => (
            <select
              {...control}
              value={channel}
              onChange={(e) => setChannel(e.target.value as JourneyChannel)}
            >
              {offered.map((state) => (
                // A channel without a provider is shown, and cannot be chosen (unless it is already the journey's).
                <option
                  key={state.channel}
                  value={state.channel}
                  disabled={!state.configured && state.channel !== initial.channel}
                >
                  {state.configured
                    ? CHANNEL_LABEL[state.channel]
                    : `${CHANNEL_LABEL[state.channel]} (not configured: no provider)`}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field
        id={`${idPrefix}-subject`}
        label={channel === "push" ? "Title" : "Subject"}
        error={form.fields.subject}
        hint={
          channel === "sms" ? "Not sent by SMS: it names the journey's messages in the log." : VARIABLES_HINT
        }
      >
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
