import { type Organization, type OrganizationId, uploadRules } from "@tapline/domain"
import { type FormEvent, useState } from "react"
import { call, describe, tagOf } from "../api.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { Field } from "../ui/Field.js"

const { contentTypes, maxBytes } = uploadRules.logo
const KB = 1024

/** What the organiser reads when a file cannot be the logo; null when it may be. Checked before anything is sent. */
const refusal = (file: File | null): string | null => {
  if (file === null) return "Choose an image file first."
  if (!(contentTypes as ReadonlyArray<string>).includes(file.type)) {
    return "A logo is a PNG, JPEG or WebP image; this file is another type."
  }
  if (file.size === 0) return "The file is empty."
  if (file.size > maxBytes) {
    return `A logo is at most ${maxBytes / KB} KB; this file is ${Math.ceil(file.size / KB)} KB.`
  }
  return null
}

/** A failure of the upload, in words, for the message next to the field: never the API's raw text. */
const failureText = (failure: unknown): string => {
  const tag = tagOf(failure)
  if (tag === "InvalidRequest") return "This file is not a PNG, JPEG or WebP image, whatever its name says."
  if (tag === "TooManyRequests") return "Too many uploads this minute; try again in a moment."
  if (tag === "Forbidden") return "Only an owner changes the logo."
  return `The logo could not be uploaded: ${describe(failure)}`
}

/** The hosted logo's path on this origin (the page may show images of its own origin only). */
const shownUrl = (logoUrl: string) => {
  const url = new URL(logoUrl, window.location.origin)
  return url.pathname.startsWith("/logos/") ? url.pathname : null
}

/**
 * The organisation's logo (OWNER): the file goes to storage by the presigned PUT the API hands out (local
 * storage or S3 alike), then the API takes the upload as the logo, checking its bytes are the image declared.
 */
export const OrganisationLogo = ({
  organizationId,
  organization,
  owner,
  onChanged
}: {
  readonly organizationId: OrganizationId
  readonly organization: typeof Organization.json.Type
  readonly owner: boolean
  readonly onChanged: () => void
}) => {
  const [file, setFile] = useState<File | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const logoUrl = organization.branding.logoUrl
  const shown = logoUrl === undefined ? null : shownUrl(logoUrl)

  const upload = async (e: FormEvent) => {
    e.preventDefault()
    const refused = refusal(file)
    setError(refused ?? undefined)
    if (refused !== null || file === null) return
    setBusy(true)
    try {
      const contentType = file.type as (typeof contentTypes)[number]
      const ticket = await call((c) =>
        c.uploads.create({
          path: { organizationId },
          payload: { purpose: "logo", contentType, size: file.size }
        })
      )
      const stored = await fetch(ticket.uploadUrl, {
        method: "PUT",
        body: file,
        headers: { "content-type": contentType }
      })
      if (!stored.ok) throw new Error(`storage refused the file (HTTP ${stored.status})`)
      await call((c) =>
        c.organizations.setLogo({ path: { organizationId }, payload: { uploadId: ticket.id } })
      )
      setFile(null)
      onChanged()
    } catch (failure) {
      setError(failureText(failure))
    } finally {
      setBusy(false)
    }
  }

  const remove = () =>
    call((c) => c.organizations.removeLogo({ path: { organizationId } }))
      .then(onChanged)
      .catch((failure: unknown) => setError(failureText(failure)))

  return (
    <section aria-labelledby="logo-heading" className="panel">
      <h2 id="logo-heading">Logo</h2>
      {logoUrl === undefined ? (
        <p className="muted">No logo yet.</p>
      ) : shown === null ? (
        <p>
          Logo at <code>{logoUrl}</code>
        </p>
      ) : (
        <img className="org-logo" src={shown} alt={`Logo of ${organization.name}`} />
      )}
      {owner && (
        <form onSubmit={upload} noValidate aria-label="Upload a logo">
          <Field id="org-logo" label="Image (PNG, JPEG or WebP, up to 512 KB)" error={error}>
            {(control) => (
              <input
                {...control}
                type="file"
                accept={contentTypes.join(",")}
                onChange={(e) => {
                  setError(undefined)
                  setFile(e.target.files?.[0] ?? null)
                }}
              />
            )}
          </Field>
          <button type="submit" disabled={busy}>
            {busy ? "Uploading…" : "Upload logo"}
          </button>{" "}
          {logoUrl !== undefined && (
            <ConfirmButton
              label="Remove logo"
              className="quiet"
              question="Remove the logo?"
              consequence="Invitations and Tapline's pages show no logo until another is uploaded; the image is deleted."
              confirm="Remove the logo"
              onConfirm={remove}
            />
          )}
        </form>
      )}
    </section>
  )
}
