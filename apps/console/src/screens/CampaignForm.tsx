import { type CalendarDate, type CampaignStatus, CampaignStatus as Statuses } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { Field } from "../ui/Field.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useForm } from "../ui/useForm.js"

const MESSAGES = {
  name: "Give the campaign a name of up to 200 characters.",
  startsOn: "A day on or before the last day of the campaign.",
  endsOn: "A day on or after the first day of the campaign."
}

export interface CampaignValues {
  readonly name: string
  readonly status: CampaignStatus
  /** Null: no date. */
  readonly startsOn: CalendarDate | null
  readonly endsOn: CalendarDate | null
}

/**
 * A campaign's name, status and dates, for a new campaign and for an edit (`idPrefix` keeps the ids of both
 * apart on one page). A last day before the first is refused before anything is sent.
 */
export const CampaignForm = ({
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
  readonly initial: CampaignValues
  readonly onSubmit: (values: CampaignValues) => Promise<unknown>
  readonly onSaved: () => void
}) => {
  const [name, setName] = useState(initial.name)
  const [status, setStatus] = useState<CampaignStatus>(initial.status)
  const [startsOn, setStartsOn] = useState<string>(initial.startsOn ?? "")
  const [endsOn, setEndsOn] = useState<string>(initial.endsOn ?? "")
  const form = useForm(MESSAGES)

  const save = (e: FormEvent) => {
    e.preventDefault()
    form.check()
    // ISO days compare as text.
    if (startsOn !== "" && endsOn !== "" && endsOn < startsOn) {
      form.refuse("startsOn")
      form.refuse("endsOn")
      return
    }
    const values: CampaignValues = {
      name,
      status,
      startsOn: startsOn === "" ? null : (startsOn as CalendarDate),
      endsOn: endsOn === "" ? null : (endsOn as CalendarDate)
    }
    form.submit(() => onSubmit(values), onSaved)
  }

  return (
    <form onSubmit={save} noValidate aria-label={label} className="panel">
      <ErrorNotice error={form.error} />
      <Field id={`${idPrefix}-name`} label="Name" error={form.fields.name}>
        {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field id={`${idPrefix}-status`} label="Status" error={undefined}>
        {(control) => (
          <select {...control} value={status} onChange={(e) => setStatus(e.target.value as CampaignStatus)}>
            {Statuses.literals.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="field-row">
        <Field id={`${idPrefix}-starts`} label="First day" error={form.fields.startsOn}>
          {(control) => (
            <input {...control} type="date" value={startsOn} onChange={(e) => setStartsOn(e.target.value)} />
          )}
        </Field>
        <Field id={`${idPrefix}-ends`} label="Last day" error={form.fields.endsOn}>
          {(control) => (
            <input {...control} type="date" value={endsOn} onChange={(e) => setEndsOn(e.target.value)} />
          )}
        </Field>
      </div>
      <button type="submit">{submitLabel}</button>
    </form>
  )
}
