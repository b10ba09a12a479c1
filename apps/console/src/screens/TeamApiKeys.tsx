import { ApiKeyId, type MemberRole, type OrganizationId, Roles } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { CopyButton } from "../ui/CopyButton.js"
import { Field } from "../ui/Field.js"
import { day } from "../ui/format.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"

const MESSAGES = {
  name: "A name of 1 to 100 characters, to know the key by later (e.g. ticketing sync).",
  role: "Choose one of the roles."
} as const

/** The organisation's API keys (OWNER): the secret of a new one is shown once; revoking one asks first. */
export const TeamApiKeys = ({ organizationId }: { readonly organizationId: OrganizationId }) => {
  const keys = useLoad(
    () => call((c) => c.apiKeys.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const [name, setName] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const [secret, setSecret] = useState<string | null>(null)
  const { error, run } = useAction()
  const form = useForm(MESSAGES)
  const create = (e: FormEvent) => {
    e.preventDefault()
    form.submit(
      () => call((c) => c.apiKeys.create({ path: { organizationId }, payload: { name, role } })),
      (created) => {
        setSecret(created.secret)
        setName("")
        keys.reload()
      }
    )
  }
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <ErrorNotice error={error ?? keys.error} />
      <form className="inline" onSubmit={create} noValidate aria-label="New API key">
        <ErrorNotice error={form.error} />
        <Field id="api-key-name" label="Name" error={form.fields.name}>
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field id="api-key-role" label="Role" error={form.fields.role}>
          {(control) => (
            <select {...control} value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
              {Roles.ordered.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit">Create key</button>
      </form>
      {secret !== null && (
        <p role="status" className="secret">
          The new key (shown once, copy it now): <code data-testid="api-key-secret">{secret}</code>{" "}
          <CopyButton text={secret} label="Copy the new key" />
        </p>
      )}
      {keys.data !== null && (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Key</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => (
              <tr key={k.id}>
                <td className="long">{k.name}</td>
                <td data-label="Role">{k.role ?? "—"}</td>
                <td data-label="Key">
                  <code>{k.hint}…</code>
                </td>
                <td data-label="Last used">{k.lastUsedAt === null ? "never" : day(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt === null ? (
                    <ConfirmButton
                      label="Revoke"
                      className="quiet"
                      ariaLabel={`Revoke ${k.name}`}
                      question={`Revoke the key ${k.name}?`}
                      consequence="Anything using this key is refused from now on. This cannot be undone."
                      confirm="Revoke the key"
                      onConfirm={() =>
                        run(
                          () =>
                            call((c) =>
                              c.apiKeys.revoke({ path: { organizationId, apiKeyId: ApiKeyId.make(k.id) } })
                            ),
                          keys.reload
                        )
                      }
                    />
                  ) : (
                    `revoked ${day(k.revokedAt)}`
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
