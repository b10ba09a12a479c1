import type { InvitationWithLink, MemberRole, OrganizationId } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { CopyButton } from "../ui/CopyButton.js"
import { day } from "../ui/format.js"
import { ErrorNotice } from "../ui/Notice.js"
import { RoleSelect } from "../ui/Selects.js"
import { useAction } from "../ui/useAction.js"
import { useLoad } from "../ui/useLoad.js"

type Shown = { readonly invitation: typeof InvitationWithLink.Type; readonly renewed: boolean }

/** The link of a new invitation, or a new link for one: shown once, as an API key's secret is. */
const InvitationLink = ({ shown }: { readonly shown: Shown }) => (
  <div role="status" className="secret">
    {!shown.invitation.emailed && !shown.renewed && (
      <p className="warning">
        Email on this server goes only to its log: nobody was emailed. Send this link to{" "}
        {shown.invitation.email} yourself.
      </p>
    )}
    <p>
      {shown.renewed ? "A new link (the previous one no longer works)" : "The invitation link"} for{" "}
      {shown.invitation.email}, shown once: <code data-testid="invitation-link">{shown.invitation.link}</code>{" "}
      <CopyButton text={shown.invitation.link} label={`Copy the link for ${shown.invitation.email}`} />
    </p>
  </div>
)

/** Open invitations (OWNER): send one by email (its link shown once), a new link for one, revoke one. */
export const TeamInvitations = ({
  organizationId
}: {
  readonly organizationId: OrganizationId
  readonly onMembers: () => void
}) => {
  const open = useLoad(() => call((c) => c.invitations.list({ path: { organizationId } })), [organizationId])
  const [email, setEmail] = useState("")
  const [role, setRole] = useState<MemberRole>("EDITOR")
  const [shown, setShown] = useState<Shown | null>(null)
  const { error, run } = useAction()
  const invite = (e: FormEvent) => {
    e.preventDefault()
    run(
      () =>
        call((c) =>
          c.invitations.create({ path: { organizationId }, payload: { email: email as never, role } })
        ),
      (invitation) => {
        setShown({ invitation, renewed: false })
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
      {shown !== null && <InvitationLink shown={shown} />}
      {open.data !== null && open.data.length > 0 && (
        <ul>
          {open.data.map((invitation) => (
            <li key={invitation.id}>
              {invitation.email} as {invitation.role}, until {day(invitation.expiresAt)}{" "}
              <button
                type="button"
                className="quiet"
                aria-label={`New link for ${invitation.email}`}
                onClick={() =>
                  run(
                    () =>
                      call((c) =>
                        c.invitations.newLink({ path: { organizationId, invitationId: invitation.id } })
                      ),
                    (renewed) => {
                      // Best effort: the link is on screen with its own Copy button either way.
                      navigator.clipboard.writeText(renewed.link).catch(() => undefined)
                      setShown({ invitation: renewed, renewed: true })
                      open.reload()
                    }
                  )
                }
              >
                Copy link
              </button>{" "}
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
