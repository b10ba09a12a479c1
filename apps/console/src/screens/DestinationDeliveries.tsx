import type { DestinationId, OrganizationId, WebhookMessageId } from "@tapline/domain"
import { useEffect } from "react"
import { call } from "../api.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useLoad, useReloadWhile } from "../ui/useLoad.js"

const deliveriesOf = (organizationId: OrganizationId, destinationId: DestinationId) =>
  call((c) =>
    c.destinations.deliveries({ path: { organizationId, destinationId }, urlParams: { limit: 50 } })
  )

/**
 * Where a test message stands, asked again while it is pending: the owner sees the broker's answer (delivered,
 * or the reason it failed) without leaving the list.
 */
export const DestinationTestResult = ({
  organizationId,
  destinationId,
  messageId,
  onSettled
}: {
  readonly organizationId: OrganizationId
  readonly destinationId: DestinationId
  readonly messageId: WebhookMessageId
  /** Once the broker has answered: the list's delivered count and last error have changed. */
  readonly onSettled: () => void
}) => {
  const deliveries = useLoad(() => deliveriesOf(organizationId, destinationId), [destinationId, messageId])
  const found = deliveries.data?.items.find((d) => d.messageId === messageId)
  const pending = found === undefined || found.status === "pending"
  useReloadWhile(pending, deliveries)
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per settled test, not per render of the caller
  useEffect(() => {
    if (!pending) onSettled()
  }, [pending])
  const said =
    found === undefined || found.status === "pending"
      ? `Test message sent; waiting for the broker${found?.lastError ? ` (last try: ${found.lastError})` : ""}…`
      : found.status === "succeeded"
        ? "Test message delivered: the broker accepted it."
        : `Test message failed: ${found.lastError ?? "no answer"}`
  return (
    <p role="status" data-testid="destination-test" data-status={found?.status ?? "pending"}>
      {deliveries.error ?? said}
    </p>
  )
}

/** One destination's messages and where each stands, newest first. */
export const DestinationDeliveries = ({
  organizationId,
  destinationId,
  url,
  revision
}: {
  readonly organizationId: OrganizationId
  readonly destinationId: DestinationId
  readonly url: string
  /** Changes when the list saw the destination change (a test sent, delivered or failed): loaded again. */
  readonly revision: string
}) => {
  const deliveries = useLoad(
    () => deliveriesOf(organizationId, destinationId),
    [organizationId, destinationId, revision]
  )
  useReloadWhile(deliveries.data?.items.some((d) => d.status === "pending") ?? false, deliveries)
  return (
    <section aria-labelledby="destination-deliveries-heading">
      <h2 id="destination-deliveries-heading">Messages for {url}</h2>
      <ErrorNotice error={deliveries.error} />
      <p className="actions">
        <button type="button" className="quiet" onClick={deliveries.reload}>
          Refresh
        </button>
      </p>
      {deliveries.data === null ? (
        <Loading what="messages" />
      ) : deliveries.data.items.length === 0 ? (
        <p>Nothing sent yet.</p>
      ) : (
        <div className="scroll">
          <table aria-label="Destination messages" className="stack">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next try</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.items.map((d) => (
                <tr key={d.messageId}>
                  <td data-label="Created">{when(d.createdAt)}</td>
                  <td data-label="Event">{d.eventType}</td>
                  <td data-label="Status" data-testid="destination-delivery-status">
                    {d.status}
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Next try">{d.status === "pending" ? when(d.nextAttemptAt) : "—"}</td>
                  <td data-label="Last error">{d.lastError ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
