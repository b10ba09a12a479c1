import { type ActivationId, OrganizationId, type TagId } from "@tapline/domain"
import { DateTime, Option } from "effect"
import { type FormEvent, useState } from "react"
import { call, endpointUrl } from "../api.js"
import { can, useSession } from "../session.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useApiForm } from "../ui/useApiForm.js"
import { useLoad } from "../ui/useLoad.js"

const MESSAGES = {
  name: "Give the activation a name of up to 200 characters.",
  tagIds: "Choose at least one tag.",
  startsAt: "Choose when the activation starts.",
  endsAt: "Choose an end after the start."
}

/** A `datetime-local` value (the browser's time zone) as an instant; none for an empty or broken one. */
const instant = (value: string) => (value === "" ? Option.none() : DateTime.make(new Date(value)))

/** Refused here as the API would refuse it, so the form shows its message by the field. */
const refused = (field: string) => Promise.reject({ _tag: "InvalidRequest", message: `${field}: missing` })

/**
 * Activations (issue 35): what a sponsor paid for, as the organisation's tagged bands over a time range, and the
 * signed reports issued for them (JSON to verify with `tapline report:verify`, PDF to read). The API also takes
 * bands and windows; the console keeps to tags.
 */
export const Activations = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const editor = can(session, "EDITOR")
  const activations = useLoad(
    () => call((c) => c.reports.listActivations({ path: { organizationId }, urlParams: { limit: 200 } })),
    [organizationId]
  )
  const tags = useLoad(
    () => call((c) => c.tags.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const [selected, setSelected] = useState<ActivationId | null>(null)
  const [name, setName] = useState("")
  const [tagIds, setTagIds] = useState<ReadonlyArray<TagId>>([])
  const [startsAt, setStartsAt] = useState("")
  const [endsAt, setEndsAt] = useState("")
  const form = useApiForm(MESSAGES)

  const create = (e: FormEvent) => {
    e.preventDefault()
    const from = instant(startsAt)
    const to = instant(endsAt)
    form.submit(
      () =>
        Option.isNone(from)
          ? refused("startsAt")
          : Option.isNone(to)
            ? refused("endsAt")
            : call((c) =>
                c.reports.createActivation({
                  path: { organizationId },
                  payload: {
                    name,
                    tagIds,
                    bandIds: [],
                    windowIds: [],
                    startsAt: from.value,
                    endsAt: to.value
                  }
                })
              ),
      (created) => {
        setName("")
        setTagIds([])
        setSelected(created.id)
        activations.reload()
      }
    )
  }

  return (
    <section aria-labelledby="activations-heading">
      <h1 id="activations-heading">Activations</h1>
      <p className="muted">
        A sponsor's bands over a time range, and signed reports of their taps: bots and repeat taps left out.
      </p>
      <ErrorNotice error={activations.error ?? tags.error ?? form.error} />
      {editor && (
        <form onSubmit={create} noValidate aria-label="New activation" className="panel">
          <div className="field-row">
            <Field id="activation-name" label="Name" error={form.fields.name}>
              {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field id="activation-starts" label="Starts" error={form.fields.startsAt}>
              {(control) => (
                <input
                  {...control}
                  type="datetime-local"
                  value={startsAt}
                  onChange={(e) => setStartsAt(e.target.value)}
                />
              )}
            </Field>
            <Field id="activation-ends" label="Ends" error={form.fields.endsAt}>
              {(control) => (
                <input
                  {...control}
                  type="datetime-local"
                  value={endsAt}
                  onChange={(e) => setEndsAt(e.target.value)}
                />
              )}
            </Field>
          </div>
          <fieldset aria-describedby={form.fields.tagIds === undefined ? undefined : "activation-tags-error"}>
            <legend>Tags</legend>
            {(tags.data?.items ?? []).map((tag) => (
              <label key={tag.id} className="block">
                <input
                  type="checkbox"
                  checked={tagIds.includes(tag.id)}
                  onChange={(e) =>
                    setTagIds(e.target.checked ? [...tagIds, tag.id] : tagIds.filter((id) => id !== tag.id))
                  }
                />{" "}
                {tag.name}
              </label>
            ))}
            {form.fields.tagIds !== undefined && (
              <small id="activation-tags-error" className="field-error">
                {form.fields.tagIds}
              </small>
            )}
          </fieldset>
          <button type="submit">Create activation</button>
        </form>
      )}
      {activations.data === null ? (
        <Loading what="activations" />
      ) : activations.data.items.length === 0 ? (
        <p>No activations yet.</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Activation</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
              </tr>
            </thead>
            <tbody>
              {activations.data.items.map((activation) => (
                <tr key={activation.id} aria-selected={activation.id === selected}>
                  <td>
                    <button type="button" className="link" onClick={() => setSelected(activation.id)}>
                      {activation.name}
                    </button>
                  </td>
                  <td>{DateTime.formatIso(activation.startsAt)}</td>
                  <td>{DateTime.formatIso(activation.endsAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected !== null && (
        <ActivationReports
          key={selected}
          organizationId={organizationId}
          activationId={selected}
          editor={editor}
        />
      )}
    </section>
  )
}

/** An activation's reports, newest first, with their downloads; an EDITOR issues a new one. */
const ActivationReports = ({
  organizationId,
  activationId,
  editor
}: {
  readonly organizationId: OrganizationId
  readonly activationId: ActivationId
  readonly editor: boolean
}) => {
  const reports = useLoad(
    () => call((c) => c.reports.list({ path: { organizationId, activationId }, urlParams: { limit: 100 } })),
    [organizationId, activationId]
  )
  const issuing = useAction()
  const link = (endpoint: "downloadJson" | "downloadPdf", reportId: string) =>
    endpointUrl("reports", endpoint, { organizationId, reportId })
  return (
    <section aria-labelledby="reports-heading" className="panel">
      <h2 id="reports-heading">Reports</h2>
      <ErrorNotice error={reports.error ?? issuing.error} />
      {editor && (
        <button
          type="button"
          onClick={() =>
            issuing.run(
              () => call((c) => c.reports.issue({ path: { organizationId, activationId } })),
              () => reports.reload()
            )
          }
        >
          Issue report
        </button>
      )}
      {reports.data === null ? (
        <Loading what="reports" />
      ) : reports.data.items.length === 0 ? (
        <p>No reports issued yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Issued</th>
              <th scope="col">Taps</th>
              <th scope="col">Unique bands</th>
              <th scope="col">Key</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {reports.data.items.map((report) => (
              <tr key={report.id}>
                <td>{DateTime.formatIso(report.issuedAt)}</td>
                <td>{report.signed.report.figures.taps}</td>
                <td>{report.signed.report.figures.uniqueBands}</td>
                <td>
                  <code>{report.keyId}</code>
                </td>
                <td>
                  <a href={link("downloadJson", report.id)}>JSON</a> ·{" "}
                  <a href={link("downloadPdf", report.id)}>PDF</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
