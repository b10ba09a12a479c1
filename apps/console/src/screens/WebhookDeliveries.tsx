import type { OrganizationId, WebhookEndpointId } from "@tapline/domain"
import { call } from "../api.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad, useReloadWhile } from "../ui/useLoad.js"

/** One endpoint's messages and where each stands; a test ping; redelivery of any message. */
export const WebhookDeliveries = ({
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
  const pending = deliveries.data?.items.some((d) => d.status === "pending") ?? false
  useReloadWhile(pending, deliveries)
  const { error, run } = useAction()
  const act = (change: () => Promise<unknown>) => run(change, deliveries.reload)
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
          <table aria-label="Deliveries" className="stack">
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
                  <td data-label="Created">{when(d.createdAt)}</td>
                  <td data-label="Event">{d.eventType}</td>
                  <td data-label="Status" data-testid="delivery-status">
                    {d.status}
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Last answer">{d.lastResponseStatus ?? d.lastError ?? "—"}</td>
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
