import { ApiKeyId, type MemberRole, OrganizationId } from "@tapline/domain"
import { DateTime } from "effect"
import { type FormEvent, useState } from "react"
import { call, describe } from "../api.js"
import { can, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useLoad } from "../ui/useLoad.js"

const ROLES: ReadonlyArray<MemberRole> = ["VIEWER", "EDITOR", "OWNER"]
const day = (at: DateTime.Utc) => DateTime.formatIso(at).slice(0, 10)

/** Members (everyone reads), and for an OWNER: roles, invitations and API keys. */
export const Team = () => {
  const session = useSession()
  const owner = can(session, "OWNER")
  const organizationId = OrganizationId.make(session.org.id)
  const [error, setError] = useState<string | null>(null)
  const members = useLoad(
    () => call((c) => c.members.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const act = (f: () => Promise<unknown>, after: () => void) => {
    setError(null)
    f()
      .then(after)
      .catch((failure: unknown) => setError(describe(failure)))
  }

  return (
    <>
      <section aria-labelledby="members-heading">
        <h1 id="members-heading">Members</h1>
        <ErrorNotice error={error ?? members.error} />
        {members.data === null ? (
          <Loading what="members" />
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                {owner && <th scope="col">Remove</th>}
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => (
                <tr key={m.userId}>
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {owner ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) => {
                          // Read now: the select is controlled and shows the old role until the reload.
                          const role = e.target.value as MemberRole
                          act(
                            () =>
                              call((c) =>
                                c.members.update({
                                  path: { organizationId, userId: m.userId },
                                  payload: { role }
                                })
                              ),
                            members.reload
                          )
                        }}
                      >
                        {ROLES.map((r) => (
                          <option key={r}>{r}</option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  {owner && (
                    <td>
                      <button
                        type="button"
                        className="quiet"
                        aria-label={`Remove ${m.email}`}
                        onClick={() =>
                          act(
                            () =>
                              call((c) => c.members.remove({ path: { organizationId, userId: m.userId } })),
                            members.reload
                          )
                        }
                      >
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {owner && <Invitations organizationId={organizationId} onMembers={members.reload} />}
      {owner && <ApiKeys organizationId={organizationId} />}
    </>
  )
}

const Invitations = ({
  organizationId
}: {
  readonly organizationId: OrganizationId
  readonly onMembers: () => void
}) => {
  const open = useLoad(() => call((c) => c.invitations.list({ path: { organizationId } })), [organizationId])
  const [email, setEmail] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const [error, setError] = useState<string | null>(null)
  const invite = (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    call((c) => c.invitations.create({ path: { organizationId }, payload: { email: email as never, role } }))
      .then(() => {
        setEmail("")
        open.reload()
      })
      .catch((failure: unknown) => setError(describe(failure)))
  }
  return (
    <section aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <ErrorNotice error={error ?? open.error} />
      <form className="inline" onSubmit={invite} aria-label="Invite someone">
        <label>
          Email <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role{" "}
          <select value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Send invitation</button>
      </form>
      {open.data !== null && open.data.length > 0 && (
        <ul>
          {open.data.map((invitation) => (
            <li key={invitation.id}>
              {invitation.email} as {invitation.role}, until {day(invitation.expiresAt)}{" "}
              <button
                type="button"
                className="quiet"
                onClick={() =>
                  call((c) => c.invitations.revoke({ path: { organizationId, invitationId: invitation.id } }))
                    .then(open.reload)
                    .catch((failure: unknown) => setError(describe(failure)))
                }
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

const ApiKeys = ({ organizationId }: { readonly organizationId: OrganizationId }) => {
  const keys = useLoad(
    () => call((c) => c.apiKeys.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const [name, setName] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const [secret, setSecret] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const create = (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    call((c) => c.apiKeys.create({ path: { organizationId }, payload: { name, role } }))
      .then((created) => {
        setSecret(created.secret)
        setName("")
        keys.reload()
      })
      .catch((failure: unknown) => setError(describe(failure)))
  }
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <ErrorNotice error={error ?? keys.error} />
      <form className="inline" onSubmit={create} aria-label="New API key">
        <label>
          Name <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role{" "}
          <select value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      {secret !== null && (
        <p role="status" className="secret">
          The new key (shown once, copy it now): <code data-testid="api-key-secret">{secret}</code>
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
                        call((c) =>
                          c.apiKeys.revoke({ path: { organizationId, apiKeyId: ApiKeyId.make(k.id) } })
                        )
                          .then(keys.reload)
                          .catch((failure: unknown) => setError(describe(failure)))
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
