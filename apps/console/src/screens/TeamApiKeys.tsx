import { ApiKeyId, type MemberRole, type OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { CopyButton } from "../ui/CopyButton.js"
import { day } from "../ui/format.js"
import { ErrorNotice } from "../ui/Notice.js"
import { RoleSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

/** The organisation's API keys (OWNER): the secret of a new one is shown once. */
export const TeamApiKeys = ({ organizationId }: { readonly organizationId: OrganizationId }) => {
  const keys = useLoad(
    () => call((c) => c.apiKeys.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const [name, setName] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const [secret, setSecret] = useState<string | null>(null)
  const { error, run } = useAction()
  const create = (e: FormEvent) => {
    e.preventDefault()
    run(
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
      <form className="inline" onSubmit={create} aria-label="New API key">
        <label>
          Name <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <RoleSelect value={role} onChange={setRole} />
        <button type="submit">Create key</button>
      </form>
      {secret !== null && (
        <p role="status" className="secret">
          The new key (shown once, copy it now): <code data-testid="api-key-secret">{secret}</code>{" "}
          <CopyButton text={secret} label="Copy the new key" />
        </p>
      )}
      {keys.data !== null && (
        <table>
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
                <td>{k.name}</td>
                <td>{k.role ?? "—"}</td>
                <td>
                  <code>{k.hint}…</code>
                </td>
                <td>{k.lastUsedAt === null ? "never" : day(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt === null ? (
                    <button
                      type="button"
                      className="quiet"
                      aria-label={`Revoke ${k.name}`}
                      onClick={() =>
                        run(
                          () =>
                            call((c) =>
                              c.apiKeys.revoke({ path: { organizationId, apiKeyId: ApiKeyId.make(k.id) } })
                            ),
                          keys.reload
                        )
                      }
                    >
                      Revoke
                    </button>
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
