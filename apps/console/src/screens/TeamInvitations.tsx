import type { MemberRole, OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { day } from "../ui/format.js"
import { ErrorNotice } from "../ui/Notice.js"
import { RoleSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

/** Open invitations (OWNER): send one by email, revoke one. */
export const TeamInvitations = ({
  organizationId
}: {
  readonly organizationId: OrganizationId
  readonly onMembers: () => void
}) => {
  const open = useLoad(() => call((c) => c.invitations.list({ path: { organizationId } })), [organizationId])
  const [email, setEmail] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const { error, run } = useAction()
  const invite = (e: FormEvent) => {
    e.preventDefault()
    run(
      () =>
        call((c) =>
          c.invitations.create({ path: { organizationId }, payload: { email: email as never, role } })
        ),
      () => {
        setEmail("")
        open.reload()
      }
    )
  }
  return (
    <section aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <ErrorNotice error={error ?? open.error} />
      <form className="inline" onSubmit={invite} aria-label="Invite someone">
        <label>
          Email <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <RoleSelect value={role} onChange={setRole} />
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
                  run(
                    () =>
                      call((c) =>
                        c.invitations.revoke({ path: { organizationId, invitationId: invitation.id } })
                      ),
                    open.reload
                  )
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
