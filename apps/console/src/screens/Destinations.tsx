import { type Destination, type DestinationId, OrganizationId, type WebhookMessageId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call, describe, tagOf } from "../api.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading, ReadOnly } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { DestinationDeliveries, DestinationTestResult } from "./DestinationDeliveries.js"
import { WebhookFields, type WebhookValues } from "./WebhookForm.js"

/** What the form says for each refused field; the API's own reason for a URL replaces the first when given. */
const MESSAGES = {
  url:
    "A broker URL starting kafka+tls://, amqp://, amqps://, nats:// or nats+tls://, on the public internet: " +
    "private and local network addresses are refused.",
  description: "A description of at most 500 characters.",
  eventTypes: "Choose at least one event to send."
} as const

const URL_HINT =
  "For example amqps://user:password@broker.example.com/exchange, nats+tls://user:password@nats.example.com/" +
  "STREAM or kafka+tls://user:password@kafka.example.com:9093/topic. The credentials are kept sealed and " +
  "never shown again."

const EMPTY: WebhookValues = { url: "", description: "", eventTypes: ["tap.created"] }

const KIND_NAMES: Record<Destination["kind"], string> = { kafka: "Kafka", rabbitmq: "RabbitMQ", nats: "NATS" }

/** How long ago, in the largest whole unit: `45 s`, `12 min`, `3 h`, `2 d`. */
const age = (at: Destination["oldestPendingAt"]) => {
  if (at === null) return ""
  const seconds = Math.max(0, Math.round((Date.now() - at.epochMillis) / 1000))
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`
  return seconds < 172_800 ? `${Math.round(seconds / 3600)} h` : `${Math.round(seconds / 86_400)} d`
}

const stateOf = (d: Destination) =>
  !d.enabled
    ? `disabled${d.disabledReason ? `: ${d.disabledReason}` : ""}`
    : d.failingSince === null
      ? "enabled"
      : `failing since ${when(d.failingSince)}`

const lagOf = (d: Destination) =>
  d.pending === 0 ? "none" : `${d.pending} pending, oldest ${age(d.oldestPendingAt)}`

/**
 * The organisation's Kafka, RabbitMQ and NATS destinations (OWNER): added with a URL whose credentials are
 * sealed, tested, disabled and enabled, redriven after an outage, removed on confirmation; each one's lag,
 * delivered count and last error, and its messages.
 */
export const Destinations = () => {
  const session = useSession()
  // The API answers only owners: anyone else is told so instead of a refusal.
  if (!can(session, "OWNER"))
    return (
      <section aria-labelledby="destinations-heading">
        <h1 id="destinations-heading">Destinations</h1>
        <ReadOnly>The organisation's owners manage its destinations.</ReadOnly>
      </section>
    )
  return <ManageDestinations organizationId={OrganizationId.make(session.org.id)} />
}

const ManageDestinations = ({ organizationId }: { readonly organizationId: OrganizationId }) => {
  const destinations = useLoad(
    () => call((c) => c.destinations.list({ path: { organizationId } })),
    [organizationId]
  )
  const [values, setValues] = useState<WebhookValues>(EMPTY)
  const [urlReason, setUrlReason] = useState<string | null>(null)
  const [selected, setSelected] = useState<DestinationId | null>(null)
  const [testing, setTesting] = useState<{
    destinationId: DestinationId
    messageId: WebhookMessageId
  } | null>(null)
  const [redriven, setRedriven] = useState<string | null>(null)
  const form = useForm(MESSAGES)
  const { error, run } = useAction()

  const create = (e: FormEvent) => {
    e.preventDefault()
    setUrlReason(null)
    form.submit(
      () =>
        call((c) =>
          c.destinations.create({
            path: { organizationId },
            payload: { ...values, url: values.url.trim() }
          })
        ).catch((failure: unknown) => {
          // The API's reason for a URL it refused (a private host, Kafka without TLS) says more than ours.
          const reason = tagOf(failure) === "InvalidRequest" ? /^url: (.+)$/s.exec(describe(failure)) : null
          if (reason?.[1] !== undefined) setUrlReason(reason[1])
          throw failure
        }),
      (created) => {
        setValues(EMPTY)
        setSelected(created.id)
        destinations.reload()
      }
    )
  }
  const act = (change: () => Promise<unknown>) => {
    setRedriven(null)
    run(change, destinations.reload)
  }
  const fields =
    form.fields.url !== undefined && urlReason !== null ? { ...form.fields, url: urlReason } : form.fields
  const shown = destinations.data?.find((d) => d.id === selected)

  return (
    <section aria-labelledby="destinations-heading">
      <h1 id="destinations-heading">Destinations</h1>
      <p className="muted">
        Your own Kafka, RabbitMQ or NATS JetStream, sent your taps and events as CloudEvents, with retries.
      </p>
      <ErrorNotice error={error ?? destinations.error} />
      <form onSubmit={create} noValidate className="panel" aria-label="New destination">
        <ErrorNotice error={form.error} />
        <WebhookFields
          prefix="destination"
          values={values}
          onChange={setValues}
          fields={fields}
          urlHint={URL_HINT}
        />
        <button type="submit">Add destination</button>
      </form>
      {testing !== null && (
        <DestinationTestResult
          key={testing.messageId}
          organizationId={organizationId}
          {...testing}
          onSettled={destinations.reload}
        />
      )}
      {redriven !== null && <p role="status">{redriven}</p>}
      {destinations.data === null ? (
        <Loading what="destinations" />
      ) : destinations.data.length === 0 ? (
        <p>No destinations yet.</p>
      ) : (
        <table className="stack" aria-label="Destinations">
          <thead>
            <tr>
              <th scope="col">Destination</th>
              <th scope="col">Kind</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Lag</th>
              <th scope="col">Delivered</th>
              <th scope="col">Last error</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {destinations.data.map((d) => (
              <tr key={d.id} aria-selected={d.id === selected}>
                <td>
                  <button type="button" className="link" onClick={() => setSelected(d.id)}>
                    {d.url}
                  </button>
                  {d.description !== "" && <div className="muted">{d.description}</div>}
                </td>
                <td data-label="Kind">{KIND_NAMES[d.kind]}</td>
                <td data-label="Events">{d.eventTypes.join(", ")}</td>
                <td data-label="State" data-testid="destination-state">
                  {stateOf(d)}
                </td>
                <td data-label="Lag">{lagOf(d)}</td>
                <td data-label="Delivered" data-testid="destination-delivered">
                  {d.delivered}
                  {d.lastDeliveredAt !== null && <div className="muted">last {when(d.lastDeliveredAt)}</div>}
                </td>
                <td data-label="Last error">
                  {d.lastError ?? "—"}
                  {d.lastErrorAt !== null && <div className="muted">{when(d.lastErrorAt)}</div>}
                </td>
                <td>
                  <DestinationActions
                    organizationId={organizationId}
                    destination={d}
                    act={act}
                    onTested={(messageId) => setTesting({ destinationId: d.id, messageId })}
                    onRedriven={(requeued) => setRedriven(`${requeued} message(s) sent again to ${d.url}.`)}
                    onGone={() => {
                      if (selected === d.id) setSelected(null)
                      if (testing?.destinationId === d.id) setTesting(null)
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown !== undefined && (
        <DestinationDeliveries
          key={shown.id}
          organizationId={organizationId}
          destinationId={shown.id}
          url={shown.url}
          revision={[
            testing?.messageId,
            shown.pending,
            shown.delivered,
            shown.lastErrorAt?.epochMillis,
            shown.updatedAt.epochMillis
          ].join(":")}
        />
      )}
    </section>
  )
}

/** Test, disable or enable, redrive, remove: the last asks first. */
const DestinationActions = ({
  organizationId,
  destination,
  act,
  onTested,
  onRedriven,
  onGone
}: {
  readonly organizationId: OrganizationId
  readonly destination: Destination
  readonly act: (change: () => Promise<unknown>) => void
  readonly onTested: (messageId: WebhookMessageId) => void
  readonly onRedriven: (requeued: number) => void
  readonly onGone: () => void
}) => {
  const path = { organizationId, destinationId: destination.id }
  return (
    <span className="actions">
      <button
        type="button"
        className="quiet"
        onClick={() =>
          act(() => call((c) => c.destinations.test({ path })).then((sent) => onTested(sent.messageId)))
        }
      >
        Test
      </button>
      <button
        type="button"
        className="quiet"
        onClick={() =>
          act(() => call((c) => c.destinations.update({ path, payload: { enabled: !destination.enabled } })))
        }
      >
        {destination.enabled ? "Disable" : "Enable"}
      </button>
      <button
        type="button"
        className="quiet"
        onClick={() =>
          act(() =>
            call((c) => c.destinations.redrive({ path })).then((answer) => onRedriven(answer.requeued))
          )
        }
      >
        Redrive failed
      </button>
      <ConfirmButton
        label="Remove"
        className="quiet"
        question={`Remove the destination ${destination.url}?`}
        consequence="Nothing more is sent to it, and its message log goes with it. This cannot be undone."
        confirm="Remove the destination"
        onConfirm={() => act(() => call((c) => c.destinations.remove({ path })).then(onGone))}
      />
    </span>
  )
}
