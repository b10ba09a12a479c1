import { EventId, type ImportResult, type OrganizationId, uploadRules } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { Field } from "../ui/Field.js"
import { useForm } from "../ui/useForm.js"

type Stage =
  | { readonly step: "idle" }
  | { readonly step: "uploading"; readonly percent: number }
  | { readonly step: "importing" }
  | { readonly step: "done"; readonly result: ImportResult }

/**
 * Sends the file to object storage by the presigned PUT the API hands out (XMLHttpRequest: the one browser
 * API that reports upload progress; the URL is storage's, not an API route), then asks the API to import it.
 * The ticket is for the file's exact size: the browser sends a File's own length as Content-Length, which
 * storage checks against it. Valid rows are kept; the invalid ones come back with their line numbers.
 */
const put = (url: string, file: File, contentType: string, progress: (percent: number) => void) =>
  new Promise<void>((resolve, reject) => {
    const request = new XMLHttpRequest()
    request.open("PUT", url)
    request.setRequestHeader("content-type", contentType)
    request.upload.onprogress = (e) => e.lengthComputable && progress(Math.round((e.loaded / e.total) * 100))
    request.onload = () =>
      request.status < 300 ? resolve() : reject(new Error(`The upload was refused (HTTP ${request.status}).`))
    request.onerror = () => reject(new Error("The upload failed: the network connection was lost."))
    request.send(file)
  })

const { maxBytes } = uploadRules["band-import"]

/** What the form says for a refused value, next to its field. */
const messages = {
  eventId: "Choose the event the bands go into (create one first).",
  file: `Choose a CSV or JSON file that is not empty, of at most ${maxBytes / 1048576} MB.`
}

export const BandImport = ({
  organizationId,
  events,
  onImported
}: {
  readonly organizationId: OrganizationId
  readonly events: ReadonlyArray<{ readonly id: string; readonly name: string }>
  readonly onImported: () => void
}) => {
  const [eventId, setEventId] = useState(events[0]?.id ?? "")
  const [file, setFile] = useState<File | null>(null)
  const [stage, setStage] = useState<Stage>({ step: "idle" })
  const { error, fields, refuse, submit } = useForm(messages)

  const upload = async (file: File, eventId: string) => {
    const contentType = file.name.toLowerCase().endsWith(".json") ? "application/json" : "text/csv"
    try {
      setStage({ step: "uploading", percent: 0 })
      const ticket = await call((c) =>
        c.uploads.create({
          path: { organizationId },
          payload: { purpose: "band-import", contentType, size: file.size }
        })
      )
      await put(ticket.uploadUrl, file, contentType, (percent) => setStage({ step: "uploading", percent }))
      setStage({ step: "importing" })
      const result = await call((c) =>
        c.bands.importUpload({
          path: { organizationId, eventId: EventId.make(eventId) },
          payload: { uploadId: ticket.id }
        })
      )
      setStage({ step: "done", result })
      return result
    } catch (failure) {
      setStage({ step: "idle" })
      throw failure
    }
  }

  const start = (e: FormEvent) => {
    e.preventDefault()
    // Checked before anything is sent: storage would refuse either file, with no field to name.
    const fileFits = file !== null && file.size > 0 && file.size <= maxBytes
    if (eventId === "" || !fileFits) {
      // An empty submission clears the last attempt's messages before the new ones are set.
      submit(async () => {})
      if (eventId === "") refuse("eventId")
      if (!fileFits) refuse("file")
      return
    }
    submit(() => upload(file, eventId), onImported)
  }

  const busy = stage.step === "uploading" || stage.step === "importing"
  return (
    <section aria-labelledby="import-heading" className="panel">
      <h2 id="import-heading">Import bands</h2>
      <p className="muted">
        CSV with a header row: <code>band_uid</code> (required), <code>registrant_name</code>,{" "}
        <code>registrant_email</code>, <code>tags</code> (separated by <code>;</code>). Importing the same
        file again changes nothing.
      </p>
      <form onSubmit={start} className="inline" aria-label="Import bands">
        <Field id="band-import-event" label="Into event" error={fields.eventId}>
          {(control) => (
            <select {...control} value={eventId} onChange={(e) => setEventId(e.target.value)}>
              {events.length === 0 && <option value="">No events yet</option>}
              {events.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id="band-import-file" label="File" error={fields.file}>
          {(control) => (
            <input
              {...control}
              type="file"
              accept=".csv,.json,text/csv,application/json"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          Import
        </button>
      </form>
      {error !== null && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {busy && (
        <label className="block">
          {stage.step === "uploading" ? `Uploading ${stage.percent}%` : "Importing…"}
          <progress
            max={100}
            value={stage.step === "uploading" ? stage.percent : undefined}
            aria-label="Import progress"
          />
        </label>
      )}
      {stage.step === "done" && (
        <div role="status" data-testid="import-result">
          <p>
            {stage.result.received} rows: {stage.result.created} created, {stage.result.updated} updated,{" "}
            {stage.result.unchanged} unchanged, {stage.result.invalidCount} invalid.
          </p>
          {stage.result.invalid.length > 0 && (
            <table aria-label="Rows not imported">
              <thead>
                <tr>
                  <th scope="col">Line</th>
                  <th scope="col">Problem</th>
                </tr>
              </thead>
              <tbody>
                {stage.result.invalid.map((row) => (
                  <tr key={row.line}>
                    <td>{row.line}</td>
                    <td>{row.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  )
}
