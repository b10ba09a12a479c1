import { OrganizationId, type Recap, RecapId, type RecapSubject } from "@tapline/domain"
import { Schema } from "effect"
import { type FormEvent, Fragment, useState } from "react"
import { call, endpointUrl } from "../api.js"
import { BASE, Link } from "../router.js"
import { can, useSession } from "../session.js"
import { when } from "../ui/format.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

const UNVERIFIED = "[unverified]"

/** What a recap is of, in words. */
export const subjectName = (subject: RecapSubject) =>
  subject.type === "organization" ? `${subject.name} (organisation)` : subject.name

/** A recap's Markdown as written, with the marks of numbers no query matched highlighted. */
const RecapText = ({ text }: { readonly text: string }) => (
  <div className="recap-text" data-testid="recap-text">
    {text.split(UNVERIFIED).map((part, index) => (
      // The parts of one text in order: the index is their identity.
      // biome-ignore lint/suspicious/noArrayIndexKey: see above
      <Fragment key={index}>
        {index > 0 && <mark title="No query result has this number">{UNVERIFIED}</mark>}
        {part}
      </Fragment>
    ))}
  </div>
)

/** US dollars: cents from a cent up, otherwise the few digits that say anything (a generation costs little). */
export const usd = (amount: number) =>
  amount >= 0.01 || amount === 0 ? `$${amount.toFixed(2)}` : `$${amount.toFixed(6).replace(/0+$/, "")}`

const json = (value: unknown) => JSON.stringify(value, null, 2)

/** The recap a link names (`/console/recaps/:id`). */
export const RecapDetail = ({ recapId }: { readonly recapId: string }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const valid = Schema.is(RecapId)(recapId)
  const recap = useLoad(
    () =>
      valid
        ? call((c) => c.recaps.get({ path: { organizationId, recapId } }))
        : Promise.reject({ _tag: "NotFound", message: "There is no such recap." }),
    [organizationId, recapId]
  )
  return (
    <section aria-labelledby="recap-heading">
      <p>
        <Link to={`${BASE}/recaps`}>← Recaps</Link>
      </p>
      <ErrorNotice error={recap.error === "NotFound" ? "There is no such recap." : recap.error} />
      {recap.data === null ? (
        recap.error === null && <Loading what="the recap" />
      ) : (
        <RecapView recap={recap.data} organizationId={organizationId} heading="recap-heading" />
      )}
    </section>
  )
}

/**
 * One recap: its text (an EDITOR edits it), whether its numbers held, what it cost, the queries it was written
 * from, and its downloads.
 */
export const RecapView = ({
  recap: initial,
  organizationId,
  heading
}: {
  readonly recap: Recap
  readonly organizationId: OrganizationId
  /** The id for the heading, when the recap is the page's subject. */
  readonly heading?: string
}) => {
  const session = useSession()
  const editor = can(session, "EDITOR")
  const [recap, setRecap] = useState(initial)
  const [draft, setDraft] = useState<string | null>(null)
  const saving = useAction()
  const link = (endpoint: "markdown" | "pdf") =>
    endpointUrl("recaps", endpoint, { organizationId, recapId: recap.id })

  const save = (e: FormEvent) => {
    e.preventDefault()
    if (draft === null) return
    saving.run(
      () =>
        call((c) =>
          c.recaps.update({ path: { organizationId, recapId: recap.id }, payload: { text: draft } })
        ),
      (saved) => {
        setRecap(saved)
        setDraft(null)
      }
    )
  }

  const { grounding } = recap
  return (
    <article className="recap" aria-labelledby={heading ?? `recap-${recap.id}`}>
      <h2 id={heading ?? `recap-${recap.id}`}>Recap: {subjectName(recap.subject)}</h2>
      <p className="muted">
        Written {when(recap.createdAt)}
        {recap.from !== null && ` · from ${when(recap.from)} to ${when(recap.to)}`}
        {recap.editedAt !== null && ` · edited ${when(recap.editedAt)}`}
      </p>
      <p data-testid="recap-grounding" className={grounding.grounded ? "status status-active" : "warning"}>
        {grounding.grounded
          ? grounding.regenerated
            ? "Every number matches a query, after the first draft was written again."
            : "Every number matches a query."
          : `Numbers that match no query (marked ${UNVERIFIED}): ${grounding.unmatched.join(", ")}`}
        {!grounding.grounded && grounding.regenerated && " (after the first draft was written again)"}
      </p>
      <ErrorNotice error={saving.error} />
      {draft === null ? (
        <>
          <RecapText text={recap.text} />
          <p className="actions">
            {editor && (
              <button type="button" onClick={() => setDraft(recap.text)}>
                Edit
              </button>
            )}
            <a className="button quiet" href={link("markdown")} download>
              Download Markdown
            </a>
            <a className="button quiet" href={link("pdf")} download>
              Download PDF
            </a>
          </p>
        </>
      ) : (
        <form onSubmit={save} aria-label="Edit the recap">
          <div className="field">
            <label htmlFor={`recap-edit-${recap.id}`}>Text (Markdown)</label>
            <textarea
              id={`recap-edit-${recap.id}`}
              className="recap-edit"
              rows={16}
              maxLength={100_000}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
            />
          </div>
          <p className="actions">
            <button type="submit" disabled={draft.trim() === ""}>
              Save
            </button>
            <button type="button" className="quiet" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </p>
        </form>
      )}
      <dl className="detail">
        <dt>Provider</dt>
        <dd data-testid="recap-provider">{recap.provider}</dd>
        <dt>Model</dt>
        <dd>{recap.model}</dd>
        <dt>Tokens</dt>
        <dd>
          {recap.inputTokens} in, {recap.outputTokens} out
        </dd>
        <dt>Cost</dt>
        <dd>{usd(recap.costUsd)}</dd>
      </dl>
      <h3>Queries ({recap.toolCalls.length})</h3>
      {recap.toolCalls.length === 0 ? (
        <p className="muted">The model ran no queries.</p>
      ) : (
        recap.toolCalls.map((toolCall, index) => (
          // Calls are kept in the order they ran; two may have the same name and parameters.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <details key={index} className="tool-call">
            <summary>
              <code>{toolCall.name}</code>
            </summary>
            <h4>Parameters</h4>
            <pre>{json(toolCall.params)}</pre>
            <h4>Result</h4>
            <pre>{json(toolCall.result)}</pre>
          </details>
        ))
      )}
    </article>
  )
}
