import { type MemberRole, OrganizationId } from "@tapline/domain"
import { call } from "../api.js"
import { can, ROLES, useSession } from "../session.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"
import { TeamApiKeys } from "./TeamApiKeys.js"
import { TeamInvitations } from "./TeamInvitations.js"

/** Members (everyone reads), and for an OWNER: roles, invitations and API keys. */
export const Team = () => {
  const session = useSession()
  const owner = can(session, "OWNER")
  const organizationId = OrganizationId.make(session.org.id)
  const members = useLoad(
    () => call((c) => c.members.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const { error, run: act } = useAction()

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
      {owner && <TeamInvitations organizationId={organizationId} onMembers={members.reload} />}
      {owner && <TeamApiKeys organizationId={organizationId} />}
    </>
  )
}
