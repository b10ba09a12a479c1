import { type InvitationWithLink, type MemberRole, type OrganizationId, Roles } from "@tapline/domain"
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
  email: "The email address of the person to invite, e.g. ana@example.com.",
  role: "Choose one of the roles."
} as const

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

/**
 * Open invitations (OWNER): send one by email (its link shown once), a new link for one, revoke one (after
 * asking: its link stops working).
 */
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
  const form = useForm(MESSAGES)
  const invite = (e: FormEvent) => {
    e.preventDefault()
    form.submit(
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
      <form className="inline" onSubmit={invite} noValidate aria-label="Invite someone">
        <ErrorNotice error={form.error} />
        <Field id="invite-email" label="Email" error={form.fields.email}>
          {(control) => (
            <input {...control} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field id="invite-role" label="Role" error={form.fields.role}>
          {(control) => (
            <select {...control} value={role} onChange={(e) => setRole(e.target.value as MemberRole)}>
              {Roles.ordered.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit">Send invitation</button>
      </form>
      {shown !== null && <InvitationLink shown={shown} />}
      {open.data !== null && open.data.length > 0 && (
        <ul className="stack">
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
              <ConfirmButton
                label="Revoke"
                className="quiet"
                ariaLabel={`Revoke the invitation of ${invitation.email}`}
                question={`Revoke the invitation of ${invitation.email}?`}
                consequence="Its link stops working; to invite them again, send a new invitation."
                confirm="Revoke the invitation"
                onConfirm={() =>
                  run(
                    () =>
                      call((c) =>
                        c.invitations.revoke({ path: { organizationId, invitationId: invitation.id } })
                      ),
                    () => {
                      // A link shown for it no longer works: it leaves the screen too.
                      if (shown?.invitation.id === invitation.id) setShown(null)
                      open.reload()
                    }
                  )
                }
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
