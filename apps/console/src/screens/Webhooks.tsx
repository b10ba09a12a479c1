import {
  type HttpUrl,
  OrganizationId,
  type WebhookEndpoint,
  type WebhookEndpointId,
  type WebhookKind
} from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { CopyButton } from "../ui/CopyButton.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { WebhookDeliveries } from "./WebhookDeliveries.js"
import { WebhookEdit } from "./WebhookEdit.js"
import { WEBHOOK_MESSAGES, WebhookFields, type WebhookValues } from "./WebhookForm.js"

const KINDS: Record<WebhookKind, string> = {
  webhook: "Webhook (signed JSON)",
  slack: "Slack channel",
  discord: "Discord channel",
  teams: "Microsoft Teams channel"
}

/** How long the previous secret keeps signing after a rotation (the API's default, said in the dialog). */
const OVERLAP_MINUTES = 24 * 60

const EMPTY: WebhookValues = { url: "", description: "", eventTypes: ["band.flagged"] }

const stateOf = (endpoint: WebhookEndpoint) =>
  endpoint.enabled
    ? endpoint.failingSince === null
      ? "enabled"
      : "failing"
    : `disabled: ${endpoint.disabledReason ?? ""}`

/**
 * Webhooks and chat alerts (OWNER): endpoints added, edited, disabled and enabled, deleted; a receiver's
 * signing secret shown once (on creation and on rotation) with a Copy button; the delivery log of one.
 */
export const Webhooks = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const endpoints = useLoad(
    () => call((c) => c.webhooks.list({ path: { organizationId } })),
    [organizationId]
  )
  const [kind, setKind] = useState<WebhookKind>("webhook")
  const [values, setValues] = useState<WebhookValues>(EMPTY)
  const [secret, setSecret] = useState<string | null>(null)
  const [selected, setSelected] = useState<WebhookEndpointId | null>(null)
  const [editing, setEditing] = useState<WebhookEndpointId | null>(null)
  const form = useForm(WEBHOOK_MESSAGES)
  const { error, run } = useAction()

  const create = (e: FormEvent) => {
    e.preventDefault()
    form.submit(
      () =>
        call((c) =>
          c.webhooks.create({
            path: { organizationId },
            payload: { kind, ...values, url: values.url.trim() as HttpUrl }
          })
        ),
      (created) => {
        setSecret(created.secret)
        setValues(EMPTY)
        setSelected(created.endpoint.id)
        endpoints.reload()
      }
    )
  }
  const act = (change: () => Promise<unknown>) => run(change, endpoints.reload)
  const editedEndpoint = endpoints.data?.find((endpoint) => endpoint.id === editing)

  return (
    <section aria-labelledby="webhooks-heading">
      <h1 id="webhooks-heading">Webhooks and chat alerts</h1>
      <ErrorNotice error={error ?? endpoints.error} />
      <form onSubmit={create} noValidate className="panel" aria-label="New endpoint">
        <ErrorNotice error={form.error} />
        <label className="block">
          Kind{" "}
          <select value={kind} onChange={(e) => setKind(e.target.value as WebhookKind)}>
            {(Object.keys(KINDS) as Array<WebhookKind>).map((k) => (
              <option key={k} value={k}>
                {KINDS[k]}
              </option>
            ))}
          </select>
        </label>
        <WebhookFields prefix="webhook" values={values} onChange={setValues} fields={form.fields} />
        <button type="submit">Add endpoint</button>
      </form>
      {secret !== null && (
        <p role="status" className="secret">
          Signing secret (shown once): <code data-testid="webhook-secret">{secret}</code>{" "}
          <CopyButton text={secret} label="Copy the signing secret" />
        </p>
      )}
      {endpoints.data === null ? (
        <Loading what="endpoints" />
      ) : endpoints.data.length === 0 ? (
        <p>No endpoints yet.</p>
      ) : (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Kind</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data.map((endpoint) => (
              <tr key={endpoint.id} aria-selected={endpoint.id === selected}>
                <td>
                  <button type="button" className="link" onClick={() => setSelected(endpoint.id)}>
                    {endpoint.url}
                  </button>
                  {endpoint.description !== "" && <div className="muted">{endpoint.description}</div>}
                </td>
                <td data-label="Kind">{endpoint.kind}</td>
                <td data-label="Events">{endpoint.eventTypes.join(", ")}</td>
                <td data-label="State">{stateOf(endpoint)}</td>
                <td>
                  <EndpointActions
                    organizationId={organizationId}
                    endpoint={endpoint}
                    act={act}
                    onEdit={() => setEditing(endpoint.id)}
                    onSecret={setSecret}
                    onGone={() => {
                      if (selected === endpoint.id) setSelected(null)
                      if (editing === endpoint.id) setEditing(null)
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editedEndpoint !== undefined && (
        <WebhookEdit
          key={editedEndpoint.id}
          organizationId={organizationId}
          endpoint={editedEndpoint}
          onDone={(saved) => {
            setEditing(null)
            if (saved) endpoints.reload()
          }}
        />
      )}
      {selected !== null && <WebhookDeliveries organizationId={organizationId} endpointId={selected} />}
    </section>
  )
}

/** Edit, disable or enable, rotate the secret (a receiver's), delete: the last two ask first. */
const EndpointActions = ({
  organizationId,
  endpoint,
  act,
  onEdit,
  onSecret,
  onGone
}: {
  readonly organizationId: OrganizationId
  readonly endpoint: WebhookEndpoint
  readonly act: (change: () => Promise<unknown>) => void
  readonly onEdit: () => void
  readonly onSecret: (secret: string | null) => void
  readonly onGone: () => void
}) => {
  const path = { organizationId, endpointId: endpoint.id }
  return (
    <span className="actions">
      <button type="button" className="quiet" onClick={onEdit}>
        Edit
      </button>
      <button
        type="button"
        className="quiet"
        onClick={() =>
          act(() => call((c) => c.webhooks.update({ path, payload: { enabled: !endpoint.enabled } })))
        }
      >
        {endpoint.enabled ? "Disable" : "Enable"}
      </button>
      {endpoint.kind === "webhook" && (
        <ConfirmButton
          label="Rotate secret"
          className="quiet"
          question={`Rotate the signing secret of ${endpoint.url}?`}
          consequence={
            "A new secret is shown once. The current one keeps signing alongside it for 24 hours, then stops " +
            "working: give the receiver the new one before then."
          }
          confirm="Rotate the secret"
          onConfirm={() =>
            act(() =>
              call((c) =>
                c.webhooks.rotateSecret({ path, payload: { overlapMinutes: OVERLAP_MINUTES } })
              ).then((rotated) => onSecret(rotated.secret))
            )
          }
        />
      )}
      <ConfirmButton
        label="Delete"
        className="quiet"
        question={`Delete the endpoint ${endpoint.url}?`}
        consequence="Nothing more is sent to it, and its delivery log goes with it. This cannot be undone."
        confirm="Delete the endpoint"
        onConfirm={() => act(() => call((c) => c.webhooks.remove({ path })).then(onGone))}
      />
    </span>
  )
}
