import { type MemberRole, OrganizationId, Roles, type UserId } from "@tapline/domain"
import { useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { TeamApiKeys } from "./TeamApiKeys.js"
import { TeamInvitations } from "./TeamInvitations.js"

const ROLE_MESSAGES = { role: "Choose one of the roles." } as const

/**
 * Members (everyone reads), and for an OWNER: roles, invitations and API keys. A refused role change (the last
 * OWNER stepping down) is said next to that member's role; removing a member asks first.
 */
export const Team = () => {
  const session = useSession()
  const owner = can(session, "OWNER")
  const organizationId = OrganizationId.make(session.org.id)
  const members = useLoad(
    () => call((c) => c.members.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const { error, run: act } = useAction()
  const roleForm = useForm(ROLE_MESSAGES)
  const [changing, setChanging] = useState<UserId | null>(null)

  return (
    <>
      <section aria-labelledby="members-heading">
        <h1 id="members-heading">Members</h1>
        <ErrorNotice error={error ?? members.error} />
        {members.data === null ? (
          <Loading what="members" />
        ) : (
          <table className="stack">
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
                  <td data-label="Email" className="long">
                    {m.email}
                  </td>
                  <td data-label="Role">
                    {owner ? (
                      <RoleChange
                        email={m.email}
                        role={m.role}
                        refused={changing === m.userId ? (roleForm.fields.role ?? roleForm.error) : null}
                        onChange={(role) => {
                          setChanging(m.userId)
                          roleForm.submit(
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
                      />
                    ) : (
                      m.role
                    )}
                  </td>
                  {owner && (
                    <td>
                      <ConfirmButton
                        label="Remove"
                        className="quiet"
                        ariaLabel={`Remove ${m.email}`}
                        question={`Remove ${m.email} from the organisation?`}
                        consequence="They lose access at once; to come back they need a new invitation."
                        onConfirm={() =>
                          act(
                            () =>
                              call((c) => c.members.remove({ path: { organizationId, userId: m.userId } })),
                            members.reload
                          )
                        }
                      />
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

/** A member's role; a refusal is said under it, tied to it for a screen reader. */
const RoleChange = ({
  email,
  role,
  refused,
  onChange
}: {
  readonly email: string
  readonly role: MemberRole
  readonly refused: string | null | undefined
  readonly onChange: (role: MemberRole) => void
}) => {
  const errorId = `role-error-${email}`
  const shown = refused !== null && refused !== undefined
  return (
    <>
      <select
        aria-label={`Role of ${email}`}
        aria-invalid={shown}
        aria-describedby={shown ? errorId : undefined}
        value={role}
        // Read now: the select is controlled and shows the old role until the reload.
        onChange={(e) => onChange(e.target.value as MemberRole)}
      >
        {Roles.ordered.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
      {shown && (
        <small id={errorId} data-testid={errorId} className="field-error block">
          {refused}
        </small>
      )}
    </>
  )
}
