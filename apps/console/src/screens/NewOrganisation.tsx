import type { Email, HttpUrl, Slug } from "@tapline/domain"
import { type FormEvent, useEffect, useState } from "react"
import { call } from "../api.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice } from "../ui/Notice.js"
import { useForm } from "../ui/useForm.js"
import { optional, webAddress } from "../ui/webAddress.js"

const MESSAGES = {
  name: "Give the organisation a name of up to 200 characters.",
  slug: "A slug is 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'.",
  websiteUrl: "A web address such as https://acme.example/.",
  contactEmail: "An email address such as ops@acme.example."
}

type Availability = { readonly slug: string; readonly text: string } | null

const SAYS = {
  invalid: "is not a slug: 1 to 63 characters of a-z, 0-9 and '-'.",
  reserved: "is reserved for Tapline.",
  taken: "is taken by another organisation."
} as const

/** The slug suggested by a name: `Acme Festivals` → `acme-festivals`. */
const slugOf = (name: string) =>
  name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "")

/**
 * Whether the slug is free, asked as the organiser types (a pause of 300 ms first, so a word typed is one
 * request), and only the answer for what the field still holds is shown.
 */
const useSlugAvailability = (slug: string): Availability => {
  const [found, setFound] = useState<Availability>(null)
  useEffect(() => {
    if (slug === "") return setFound(null)
    let current = true
    const timer = setTimeout(() => {
      call((c) => c.organizations.slugAvailability({ urlParams: { slug } }))
        .then((answer) => {
          if (!current) return
          const says = answer.available ? "is available." : SAYS[answer.reason ?? "invalid"]
          setFound({ slug, text: `"${slug}" ${says}` })
        })
        .catch(() => current && setFound(null))
    }, 300)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [slug])
  return found?.slug === slug ? found : null
}

/**
 * A new organisation, founded by the signed-in user, who becomes its OWNER (the API's rule: any person may found
 * one, an organisation's API key may not). The slug is its tap sub-domain, for good.
 */
export const NewOrganisation = ({ onCreated }: { readonly onCreated: (id: string) => void }) => {
  const [name, setName] = useState("")
  const [slug, setSlug] = useState("")
  const [slugTouched, setSlugTouched] = useState(false)
  const [website, setWebsite] = useState("")
  const [email, setEmail] = useState("")
  const form = useForm(MESSAGES)
  const shownSlug = slugTouched ? slug : slugOf(name)
  const availability = useSlugAvailability(shownSlug)

  const create = (e: FormEvent) => {
    e.preventDefault()
    const websiteUrl = optional(website)
    const contactEmail = optional(email)
    form.submit(
      () =>
        call((c) =>
          c.organizations.create({
            payload: {
              name,
              slug: shownSlug as Slug,
              ...(websiteUrl === undefined ? {} : { websiteUrl: webAddress(websiteUrl) as HttpUrl }),
              ...(contactEmail === undefined ? {} : { contactEmail: contactEmail as Email })
            }
          })
        ),
      (created) => onCreated(created.id)
    )
  }

  return (
    <section aria-labelledby="new-org-heading" className="narrow-form">
      <h1 id="new-org-heading">New organisation</h1>
      <p className="muted">You become its owner, and can invite your team from Team.</p>
      <ErrorNotice error={form.error} />
      <form onSubmit={create} noValidate aria-label="New organisation">
        <Field id="new-org-name" label="Name" error={form.fields.name}>
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field
          id="new-org-slug"
          label="Slug (the tap sub-domain)"
          error={form.fields.slug}
          hint={
            <span data-testid="slug-availability" aria-live="polite">
              {availability?.text ?? "Lower-case letters, digits and '-'; it cannot change later."}
            </span>
          }
        >
          {(control) => (
            <input
              {...control}
              value={shownSlug}
              autoCapitalize="none"
              spellCheck={false}
              onChange={(e) => {
                setSlugTouched(true)
                setSlug(e.target.value)
              }}
            />
          )}
        </Field>
        <Field id="new-org-website" label="Website (optional)" error={form.fields.websiteUrl}>
          {(control) => (
            <input
              {...control}
              inputMode="url"
              value={website}
              onChange={(e) => setWebsite(e.target.value)}
            />
          )}
        </Field>
        <Field id="new-org-email" label="Contact email (optional)" error={form.fields.contactEmail}>
          {(control) => (
            <input {...control} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <button type="submit">Create organisation</button>
      </form>
    </section>
  )
}
