import {
  type HttpUrl,
  OrganizationId,
  type WebhookEndpointId,
  type WebhookEventType,
  type WebhookKind
} from "@tapline/domain"
import { DateTime } from "effect"
import { type FormEvent, useEffect, useState } from "react"
import { call, describe } from "../api.js"
import { useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"

const EVENT_TYPES: ReadonlyArray<WebhookEventType> = [
  "tap.created",
  "band.flagged",
  "band.assigned",
  "event.status_changed",
  "export.ready",
  "import.completed",
  "webhook.disabled"
]
const KINDS: Record<WebhookKind, string> = {
  webhook: "Webhook (signed JSON)",
  slack: "Slack channel",
  discord: "Discord channel",
  teams: "Microsoft Teams channel"
}
const when = (at: DateTime.Utc | null) =>
  at === null ? "—" : DateTime.formatIso(at).slice(0, 19).replace("T", " ")

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
  const [error, setError] = useState<string | null>(null)

  const create = (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    call((c) =>
      c.webhooks.create({
        path: { organizationId },
        payload: { kind, url: url as HttpUrl, eventTypes: types, description: "" }
      })
    )
      .then((created) => {
        setSecret(created.secret)
        setUrl("")
        setSelected(created.endpoint.id)
        endpoints.reload()
      })
      .catch((failure: unknown) => setError(describe(failure)))
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
      {selected !== null && <Deliveries organizationId={organizationId} endpointId={selected} />}
    </section>
  )
}

const Deliveries = ({
  organizationId,
  endpointId
}: {
  readonly organizationId: OrganizationId
  readonly endpointId: WebhookEndpointId
}) => {
  const deliveries = useLoad(
    () =>
      call((c) => c.webhooks.deliveries({ path: { organizationId, endpointId }, urlParams: { limit: 50 } })),
    [organizationId, endpointId]
  )
  const [error, setError] = useState<string | null>(null)
  const pending = deliveries.data?.items.some((d) => d.status === "pending") ?? false
  // While a message is on its way, look again every two seconds.
  // biome-ignore lint/correctness/useExhaustiveDependencies: each answer arms the timer again while one is pending
  useEffect(() => {
    if (!pending) return
    const timer = setTimeout(deliveries.reload, 2000)
    return () => clearTimeout(timer)
  }, [pending, deliveries.data, deliveries.reload])
  const act = (f: () => Promise<unknown>) => {
    setError(null)
    f()
      .then(deliveries.reload)
      .catch((failure: unknown) => setError(describe(failure)))
  }
  return (
    <section aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Delivery log</h2>
      <ErrorNotice error={error ?? deliveries.error} />
      <p className="actions">
        <button
          type="button"
          className="quiet"
          onClick={() => act(() => call((c) => c.webhooks.test({ path: { organizationId, endpointId } })))}
        >
          Send a test
        </button>
        <button type="button" className="quiet" onClick={deliveries.reload}>
          Refresh
        </button>
      </p>
      {deliveries.data === null ? (
        <Loading what="deliveries" />
      ) : deliveries.data.items.length === 0 ? (
        <p>Nothing sent yet.</p>
      ) : (
        <div className="scroll">
          <table aria-label="Deliveries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Again</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.items.map((d) => (
                <tr key={d.messageId}>
                  <td>{when(d.createdAt)}</td>
                  <td>{d.eventType}</td>
                  <td data-testid="delivery-status">{d.status}</td>
                  <td>{d.attempts}</td>
                  <td>{d.lastResponseStatus ?? d.lastError ?? "—"}</td>
                  <td>
                    <button
                      type="button"
                      className="quiet"
                      onClick={() =>
                        act(() =>
                          call((c) =>
                            c.webhooks.redeliver({
                              path: { organizationId, endpointId, messageId: d.messageId }
                            })
                          )
                        )
                      }
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
