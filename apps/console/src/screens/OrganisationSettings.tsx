import { type Email, type HttpUrl, type Organization, OrganizationId } from "@tapline/domain"
import { Option } from "effect"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { optional, webAddress } from "../ui/webAddress.js"
import { OrganisationLogo } from "./OrganisationLogo.js"

const MESSAGES = {
  name: "Give the organisation a name of up to 200 characters.",
  websiteUrl: "A web address such as https://acme.example/.",
  contactEmail: "An email address such as ops@acme.example.",
  primaryColor: "A colour as # and six hex digits, such as #0a7b83.",
  accentColor: "A colour as # and six hex digits, such as #ffcc00.",
  smsHelpText: "One line of up to 300 characters, or empty for the platform's text."
}

type OrganizationView = typeof Organization.json.Type

/** The organisation's name, contact and branding (OWNER changes them; everyone reads), and its logo. */
export const OrganisationSettings = ({ onChanged }: { readonly onChanged: () => void }) => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const organization = useLoad(
    () => call((c) => c.organizations.get({ path: { organizationId } })),
    [organizationId]
  )
  const changed = () => {
    organization.reload()
    onChanged()
  }
  return (
    <section aria-labelledby="settings-heading">
      <h1 id="settings-heading">Organisation settings</h1>
      <ErrorNotice error={organization.error} />
      {organization.data === null ? (
        <Loading what="the organisation" />
      ) : (
        <>
          {can(session, "OWNER") ? (
            <SettingsForm
              organizationId={organizationId}
              organization={organization.data}
              onSaved={changed}
            />
          ) : (
            <ReadSettings organization={organization.data} />
          )}
          <OrganisationLogo
            organizationId={organizationId}
            organization={organization.data}
            owner={can(session, "OWNER")}
            onChanged={changed}
          />
        </>
      )}
    </section>
  )
}

const ReadSettings = ({ organization }: { readonly organization: OrganizationView }) => (
  <dl className="detail">
    <dt>Name</dt>
    <dd>{organization.name}</dd>
    <dt>Slug</dt>
    <dd>{organization.slug}</dd>
    <dt>Website</dt>
    <dd>{Option.getOrElse(organization.websiteUrl, () => "—")}</dd>
    <dt>Contact email</dt>
    <dd>{Option.getOrElse(organization.contactEmail, () => "—")}</dd>
    <dt>Colours</dt>
    <dd>
      {organization.branding.primaryColor ?? "—"}, {organization.branding.accentColor ?? "—"}
    </dd>
    <dt>SMS help text</dt>
    <dd>{Option.getOrElse(organization.smsHelpText, () => "— (the platform's)")}</dd>
  </dl>
)

const SettingsForm = ({
  organizationId,
  organization,
  onSaved
}: {
  readonly organizationId: OrganizationId
  readonly organization: OrganizationView
  readonly onSaved: () => void
}) => {
  const [name, setName] = useState(organization.name)
  const [website, setWebsite] = useState(Option.getOrElse(organization.websiteUrl, () => ""))
  const [email, setEmail] = useState<string>(Option.getOrElse(organization.contactEmail, () => ""))
  const [primary, setPrimary] = useState(organization.branding.primaryColor ?? "")
  const [accent, setAccent] = useState(organization.branding.accentColor ?? "")
  const [helpText, setHelpText] = useState(Option.getOrElse(organization.smsHelpText, () => ""))
  const [saved, setSaved] = useState(false)
  const form = useForm(MESSAGES)

  const save = (e: FormEvent) => {
    e.preventDefault()
    setSaved(false)
    const websiteUrl = optional(website)
    const contactEmail = optional(email)
    const primaryColor = optional(primary)
    const accentColor = optional(accent)
    const smsHelpText = optional(helpText)
    // The branding is replaced whole: the logo (set through its own endpoint) goes along as it is.
    const logoUrl = organization.branding.logoUrl
    form.submit(
      () =>
        call((c) =>
          c.organizations.update({
            path: { organizationId },
            payload: {
              name,
              websiteUrl: websiteUrl === undefined ? null : (webAddress(websiteUrl) as HttpUrl),
              contactEmail: contactEmail === undefined ? null : (contactEmail as Email),
              smsHelpText: smsHelpText ?? null,
              branding: {
                ...(logoUrl === undefined ? {} : { logoUrl }),
                ...(primaryColor === undefined ? {} : { primaryColor }),
                ...(accentColor === undefined ? {} : { accentColor })
              }
            }
          })
        ),
      () => {
        setSaved(true)
        onSaved()
      }
    )
  }

  return (
    <form onSubmit={save} noValidate aria-label="Organisation settings" className="panel">
      <ErrorNotice error={form.error} />
      <p className="muted">
        Slug <code>{organization.slug}</code> (the tap sub-domain; it does not change).
      </p>
      <Field id="org-name" label="Name" error={form.fields.name}>
        {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field id="org-website" label="Website" error={form.fields.websiteUrl}>
        {(control) => (
          <input {...control} inputMode="url" value={website} onChange={(e) => setWebsite(e.target.value)} />
        )}
      </Field>
      <Field id="org-email" label="Contact email" error={form.fields.contactEmail}>
        {(control) => (
          <input {...control} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        )}
      </Field>
      <div className="field-row">
        <Field id="org-primary-color" label="Main colour" error={form.fields.primaryColor}>
          {(control) => (
            <input
              {...control}
              placeholder="#0a7b83"
              value={primary}
              onChange={(e) => setPrimary(e.target.value)}
            />
          )}
        </Field>
        <Field id="org-accent-color" label="Accent colour" error={form.fields.accentColor}>
          {(control) => (
            <input
              {...control}
              placeholder="#ffcc00"
              value={accent}
              onChange={(e) => setAccent(e.target.value)}
            />
          )}
        </Field>
      </div>
      <Field
        id="org-sms-help"
        label="SMS help text"
        hint="The reply to HELP from someone your journeys texted. Say who you are and that STOP stops the texts."
        error={form.fields.smsHelpText}
      >
        {(control) => (
          <textarea
            {...control}
            rows={2}
            maxLength={300}
            value={helpText}
            onChange={(e) => setHelpText(e.target.value)}
          />
        )}
      </Field>
      <button type="submit">Save settings</button>
      {saved && (
        <span role="status" className="muted">
          {" "}
          Saved.
        </span>
      )}
    </form>
  )
}
