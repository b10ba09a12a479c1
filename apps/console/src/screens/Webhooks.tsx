import {
  type HttpUrl,
  OrganizationId,
  type WebhookEndpointId,
  WebhookEventType,
  type WebhookKind
} from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"
import { WebhookDeliveries } from "./WebhookDeliveries.js"

const EVENT_TYPES = WebhookEventType.literals
const KINDS: Record<WebhookKind, string> = {
  webhook: "Webhook (signed JSON)",
  slack: "Slack channel",
  discord: "Discord channel",
  teams: "Microsoft Teams channel"
}

/** Webhooks and chat alerts (OWNER): endpoints, their delivery log, a test ping and redelivery. */
export const Webhooks = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const endpoints = useLoad(
    () => call((c) => c.webhooks.list({ path: { organizationId } })),
    [organizationId]
  )
  const [kind, setKind] = useState<WebhookKind>("webhook")
  const [url, setUrl] = useState("")
  const [types, setTypes] = useState<ReadonlyArray<WebhookEventType>>(["band.flagged"])
  const [secret, setSecret] = useState<string | null>(null)
  const [selected, setSelected] = useState<WebhookEndpointId | null>(null)
  const { error, run } = useAction()

  const create = (e: FormEvent) => {
    e.preventDefault()
    run(
      () =>
        call((c) =>
          c.webhooks.create({
            path: { organizationId },
            payload: { kind, url: url as HttpUrl, eventTypes: types, description: "" }
          })
        ),
      (created) => {
        setSecret(created.secret)
        setUrl("")
        setSelected(created.endpoint.id)
        endpoints.reload()
      }
    )
  }

  return (
    <section aria-labelledby="webhooks-heading">
      <h1 id="webhooks-heading">Webhooks and chat alerts</h1>
      <ErrorNotice error={error ?? endpoints.error} />
      <form onSubmit={create} className="panel" aria-label="New endpoint">
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
        <label className="block">
          URL <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <fieldset className="checks">
          <legend>Send</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={types.includes(t)}
                onChange={(e) => setTypes(e.target.checked ? [...types, t] : types.filter((x) => x !== t))}
              />{" "}
              {t}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={types.length === 0}>
          Add endpoint
        </button>
      </form>
      {secret !== null && (
        <p role="status" className="secret">
          Signing secret (shown once): <code>{secret}</code>
        </p>
      )}
      {endpoints.data === null ? (
        <Loading what="endpoints" />
      ) : endpoints.data.length === 0 ? (
        <p>No endpoints yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Kind</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data.map((endpoint) => (
              <tr key={endpoint.id} aria-selected={endpoint.id === selected}>
                <td>
                  <button type="button" className="link" onClick={() => setSelected(endpoint.id)}>
                    {endpoint.url}
                  </button>
                </td>
                <td>{endpoint.kind}</td>
                <td>{endpoint.eventTypes.join(", ")}</td>
                <td>
                  {endpoint.enabled
                    ? endpoint.failingSince === null
                      ? "enabled"
                      : "failing"
                    : `disabled: ${endpoint.disabledReason ?? ""}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected !== null && <WebhookDeliveries organizationId={organizationId} endpointId={selected} />}
    </section>
  )
}
