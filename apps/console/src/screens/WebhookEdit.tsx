import type { HttpUrl, OrganizationId, WebhookEndpoint } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useForm } from "../ui/useForm.js"
import { WEBHOOK_MESSAGES, WebhookFields, type WebhookValues } from "./WebhookForm.js"

/**
 * An endpoint's URL, description and events. A chat channel's URL is its secret and never shown: its field
 * starts empty, and stays as it was unless a new one is typed.
 */
export const WebhookEdit = ({
  organizationId,
  endpoint,
  onDone
}: {
  readonly organizationId: OrganizationId
  readonly endpoint: WebhookEndpoint
  readonly onDone: (saved: boolean) => void
}) => {
  const secretUrl = endpoint.kind !== "webhook"
  const [values, setValues] = useState<WebhookValues>({
    url: secretUrl ? "" : endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes
  })
  const form = useForm(WEBHOOK_MESSAGES)
  const save = (e: FormEvent) => {
    e.preventDefault()
    const url = values.url.trim()
    const keepUrl = url === "" ? secretUrl : url === endpoint.url
    form.submit(
      () =>
        call((c) =>
          c.webhooks.update({
            path: { organizationId, endpointId: endpoint.id },
            payload: {
              ...(keepUrl ? {} : { url: url as HttpUrl }),
              description: values.description,
              eventTypes: values.eventTypes
            }
          })
        ),
      () => onDone(true)
    )
  }
  return (
    <form onSubmit={save} noValidate className="panel" aria-label="Edit endpoint">
      <h2>Edit {endpoint.url}</h2>
      <ErrorNotice error={form.error} />
      <WebhookFields
        prefix="webhook-edit"
        values={values}
        onChange={setValues}
        fields={form.fields}
        {...(secretUrl ? { urlHint: "Leave empty to keep the channel's current address." } : {})}
      />
      <p className="actions">
        <button type="submit">Save</button>
        <button type="button" className="quiet" onClick={() => onDone(false)}>
          Cancel
        </button>
      </p>
    </form>
  )
}
