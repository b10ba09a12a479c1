import { Branding } from "@tapline/domain"
import { Option, Schema } from "effect"

/*
 * The mails Tapline sends, each as plain text and HTML, in the organisation's colours with its logo. Every
 * value that comes from a user (names, reasons, addresses) is escaped in the HTML; links are Tapline's own.
 */

export interface Brand {
  readonly organizationName: string
  readonly branding: Branding
}

export interface Rendered {
  readonly subject: string
  readonly text: string
  readonly html: string
}

/** An organisation's stored name and branding as a Brand; branding that does not decode is no branding. */
export const brandOf = (organization: Readonly<Record<string, unknown>>): Brand => ({
  organizationName: String(organization.name),
  branding: Option.getOrElse(Schema.decodeUnknownOption(Branding)(organization.branding), () => ({}))
})

const DEFAULT_COLOR = "#1f2937"

export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!
  )

/** One column, inline styles only: what mail clients render alike. */
const layout = (
  brand: Brand,
  content: {
    readonly heading: string
    readonly paragraphs: ReadonlyArray<string>
    readonly button?: { readonly label: string; readonly href: string }
    readonly footer: string
  }
) => {
  const color = brand.branding.primaryColor ?? DEFAULT_COLOR
  const accent = brand.branding.accentColor ?? color
  const name = escapeHtml(brand.organizationName)
  const logo =
    brand.branding.logoUrl === undefined
      ? `<div style="font-size:18px;font-weight:600;color:${color}">${name}</div>`
      : `<img src="${escapeHtml(brand.branding.logoUrl)}" alt="${name}" height="40" style="height:40px;max-width:200px">`
  const button =
    content.button === undefined
      ? ""
      : `<p style="margin:24px 0"><a href="${escapeHtml(content.button.href)}" style="background:${accent};color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(content.button.label)}</a></p>`
  return [
    '<!doctype html><html><body style="margin:0;padding:0;background:#f3f4f6">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">',
    `<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="background:#ffffff;border-top:4px solid ${color};font-family:system-ui,sans-serif;color:#111827">`,
    `<tr><td style="padding:24px">${logo}</td></tr>`,
    `<tr><td style="padding:0 24px 24px"><h1 style="font-size:20px;margin:0 0 16px">${escapeHtml(content.heading)}</h1>`,
    ...content.paragraphs.map((p) => `<p style="margin:0 0 12px;line-height:1.5">${escapeHtml(p)}</p>`),
    button,
    `<p style="margin:24px 0 0;font-size:12px;color:#6b7280">${escapeHtml(content.footer)}</p></td></tr>`,
    "</table></td></tr></table></body></html>"
  ].join("")
}

export const invitation = (
  brand: Brand,
  input: { readonly role: string; readonly link: string; readonly validDays: number }
): Rendered => {
  const name = brand.organizationName
  return {
    subject: `You are invited to ${name} on Tapline`,
    text:
      `You have been invited to join ${name} on Tapline as ${input.role}.\n\n` +
      `Accept within ${input.validDays} days by signing in here:\n${input.link}\n\n` +
      "The link works once. If you did not expect this, ignore this email.",
    html: layout(brand, {
      heading: `Join ${name} on Tapline`,
      paragraphs: [
        `You have been invited to join ${name} as ${input.role}.`,
        `Accept within ${input.validDays} days. The link works once.`
      ],
      button: { label: "Accept the invitation", href: input.link },
      footer: "If you did not expect this, ignore this email."
    })
  }
}

/**
 * A sign-in link and code (DESIGN.md §6). Every address that asks gets this same mail, account or not, so
 * the answer to the request cannot differ; whether the address may sign in is said when the link is used.
 */
export const emailSignIn = (input: {
  readonly link: string
  readonly code: string
  readonly linkMinutes: number
  readonly codeMinutes: number
}): Rendered => {
  const brand: Brand = { organizationName: "Tapline", branding: {} }
  return {
    subject: "Your Tapline sign-in link",
    text:
      `Sign in to Tapline with this link (it works once, for ${input.linkMinutes} minutes):\n${input.link}\n\n` +
      `Or enter this code on the sign-in page (${input.codeMinutes} minutes): ${input.code}\n\n` +
      "If you did not ask to sign in, ignore this email; nothing happens without the link or the code.",
    html: layout(brand, {
      heading: "Sign in to Tapline",
      paragraphs: [
        `The button works once, for ${input.linkMinutes} minutes.`,
        `Or enter this code on the sign-in page within ${input.codeMinutes} minutes: ${input.code}`
      ],
      button: { label: "Sign in", href: input.link },
      footer:
        "If you did not ask to sign in, ignore this email; nothing happens without the link or the code."
    })
  }
}

export const exportReady = (
  brand: Brand,
  input: { readonly kind: string; readonly rows: number; readonly link: string; readonly expiresAt: Date }
): Rendered => {
  const until = input.expiresAt.toISOString().slice(0, 10)
  return {
    subject: `Your ${input.kind} export for ${brand.organizationName} is ready`,
    text:
      `The ${input.kind} export you asked for (${input.rows} rows) is ready:\n${input.link}\n\n` +
      `It can be downloaded until ${until} (UTC); sign in to download it.`,
    html: layout(brand, {
      heading: "Your export is ready",
      paragraphs: [
        `The ${input.kind} export you asked for holds ${input.rows} rows.`,
        `It can be downloaded until ${until} (UTC).`
      ],
      button: { label: "Download", href: input.link },
      footer: `Sent by Tapline for ${brand.organizationName}.`
    })
  }
}

/** An operational alert (a webhook endpoint disabled, a pipeline that stopped): what happened, what to do. */
export const alert = (
  brand: Brand,
  input: {
    readonly title: string
    readonly lines: ReadonlyArray<string>
    readonly link?: { readonly label: string; readonly href: string }
  }
): Rendered => ({
  subject: `[${brand.organizationName}] ${input.title}`,
  text: [input.title, "", ...input.lines, ...(input.link === undefined ? [] : ["", input.link.href])].join(
    "\n"
  ),
  html: layout(brand, {
    heading: input.title,
    paragraphs: input.lines,
    ...(input.link === undefined ? {} : { button: input.link }),
    footer: `Sent by Tapline for ${brand.organizationName} because you are one of its owners.`
  })
})
