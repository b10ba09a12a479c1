import type { BandId, OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { Field } from "../ui/Field.js"
import { useForm } from "../ui/useForm.js"

const messages = { flagReason: "A reason of at most 500 characters, on one line." }

/**
 * Flags one band, with an optional reason the team sees in the list (a band reported lost, a name to check).
 * Unflagging needs no form: it is the same PATCH with `flagged: false`, from the row's button.
 */
export const BandFlag = ({
  organizationId,
  bandId,
  bandUid,
  onDone,
  onCancel
}: {
  readonly organizationId: OrganizationId
  readonly bandId: BandId
  readonly bandUid: string
  readonly onDone: () => void
  readonly onCancel: () => void
}) => {
  const [reason, setReason] = useState("")
  const { error, fields, submit } = useForm(messages)
  const save = (e: FormEvent) => {
    e.preventDefault()
    submit(
      () =>
        call((c) =>
          c.bands.update({
            path: { organizationId, bandId },
            payload: { flagged: true, flagReason: reason.trim() === "" ? undefined : reason.trim() }
          })
        ),
      onDone
    )
  }
  return (
    <form onSubmit={save} aria-label={`Flagging ${bandUid}`} className="panel">
      {error !== null && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <Field id="band-flag-reason" label={`Reason for flagging ${bandUid}`} error={fields.flagReason}>
        {(control) => <input {...control} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <button type="submit">Save flag</button>{" "}
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
    </form>
  )
}
