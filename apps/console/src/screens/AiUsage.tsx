import type { OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useApiForm } from "../ui/useApiForm.js"
import { useLoad } from "../ui/useLoad.js"
import { usd } from "./RecapDetail.js"

const MESSAGES = {
  monthlyBudgetUsd: "A number of US dollars from 0 to 1,000,000, or empty for no budget."
}

/**
 * The month's language-model use (UTC month): generations, tokens and cost in all and per provider, and the
 * monthly budget, which an OWNER sets or removes. Shown on the Recaps screen so the whole AI feature appears
 * and disappears together. `version` changes when a generation has added to it.
 */
export const AiUsagePanel = ({
  organizationId,
  owner,
  version
}: {
  readonly organizationId: OrganizationId
  readonly owner: boolean
  readonly version: number
}) => {
  const usage = useLoad(
    () => call((c) => c.ai.usage({ path: { organizationId }, urlParams: {} })),
    [organizationId, version]
  )
  const data = usage.data
  return (
    <section aria-labelledby="ai-usage-heading" className="panel">
      <h2 id="ai-usage-heading">AI usage{data !== null && ` in ${data.month}`}</h2>
      <ErrorNotice error={usage.error} />
      {data === null ? (
        usage.error === null && <Loading what="AI usage" />
      ) : (
        <>
          <dl className="counters" aria-label="This month">
            <div>
              <dt>Generations</dt>
              <dd data-testid="ai-generations">{data.generations}</dd>
            </div>
            <div>
              <dt>Tokens in</dt>
              <dd>{data.inputTokens}</dd>
            </div>
            <div>
              <dt>Tokens out</dt>
              <dd>{data.outputTokens}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd data-testid="ai-cost">{usd(data.costUsd)}</dd>
            </div>
            <div>
              <dt>Monthly budget</dt>
              <dd data-testid="ai-budget">
                {data.monthlyBudgetUsd === null ? "none" : usd(data.monthlyBudgetUsd)}
              </dd>
            </div>
          </dl>
          {data.providers.length > 0 && (
            <div className="scroll">
              <table aria-label="AI usage per provider">
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Generations</th>
                    <th scope="col">Tokens in</th>
                    <th scope="col">Tokens out</th>
                    <th scope="col">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {data.providers.map((p) => (
                    <tr key={p.provider}>
                      <th scope="row">{p.provider}</th>
                      <td>{p.generations}</td>
                      <td>{p.inputTokens}</td>
                      <td>{p.outputTokens}</td>
                      <td>{usd(p.costUsd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {owner && (
            <BudgetForm
              key={String(data.monthlyBudgetUsd)}
              organizationId={organizationId}
              budget={data.monthlyBudgetUsd}
              onSaved={usage.reload}
            />
          )}
        </>
      )}
    </section>
  )
}

/** An OWNER's monthly budget in US dollars; empty removes it. */
const BudgetForm = ({
  organizationId,
  budget,
  onSaved
}: {
  readonly organizationId: OrganizationId
  readonly budget: number | null
  readonly onSaved: () => void
}) => {
  const [value, setValue] = useState(budget === null ? "" : String(budget))
  const form = useApiForm(MESSAGES)
  const save = (e: FormEvent) => {
    e.preventDefault()
    // Empty is "no budget"; anything else the contract checks (a number between 0 and 1,000,000).
    const monthlyBudgetUsd = value.trim() === "" ? null : Number(value)
    form.submit(
      () => call((c) => c.ai.setBudget({ path: { organizationId }, payload: { monthlyBudgetUsd } })),
      onSaved
    )
  }
  return (
    <form onSubmit={save} noValidate aria-label="Monthly AI budget" className="inline">
      <ErrorNotice error={form.error} />
      <Field
        id="ai-budget"
        label="Monthly budget (US dollars)"
        error={form.fields.monthlyBudgetUsd}
        hint="Generations stop for the rest of the UTC month once it is spent. Empty: no budget."
      >
        {(control) => (
          <input {...control} inputMode="decimal" value={value} onChange={(e) => setValue(e.target.value)} />
        )}
      </Field>
      <button type="submit">Save budget</button>
    </form>
  )
}
