import * as Fs from "node:fs"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import { Email, hasControlCharacters, type OrganizationId, type TooManyRequests } from "@tapline/domain"
import { Effect, Layer, Option, Schema } from "effect"
import { Changes } from "../Admin/Changes.js"
import { Audit } from "../Audit/Audit.js"
import { BandRepository } from "../Bands/BandRepository.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { type PageClaim, RegistrationTokens } from "../Crypto/PageToken.js"
import { Mailer } from "../Mail/Mailer.js"
import { brandOf, escapeHtml } from "../Mail/MailTemplates.js"
import { exceededAsTooManyRequests } from "../Quotas/Quotas.js"
import { checkLocale, checkPhone } from "./Fields.js"
import { emailWording, type PageForm, PageRegistrations } from "./PageRegistrations.js"
import * as PushPage from "./PushPage.js"
import { PushSubscriptions } from "./PushSubscriptions.js"
import { RegistrantRepository } from "./RegistrantRepository.js"
import { Registrants } from "./Registrants.js"
import type { PageContext } from "./RegistrationPageRepository.js"

/*
 * The registration page Tapline hosts (DESIGN.md §12): `/r/<page token>`, where a REGISTRATION_PAGE window
 * sends a tap. Server-rendered, mobile-first, in the organisation's colours with its logo; every field has its
 * label, errors are announced (role=alert) and named by the field. The only script is our own, and only asks
 * for notification permission after the form went through, on a tap of its button (PushPage.ts).
 */

const COOKIE = "tapline_reg"
const DEFAULT_COLOR = "#1f2937"
const MAX_NAME = 200

const script = Fs.readFileSync(new URL("../../assets/registration.js", import.meta.url), "utf8")

/**
 * Only our script; images from here and the logo's origin; no framing; no cache. The referrer stays on this
 * origin (the token is in the URL): `no-referrer` would also make Chromium send `Origin: null` with the form.
 */
const headers = (logoOrigin: string | null) => ({
  "content-security-policy":
    `default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'${logoOrigin === null ? "" : ` ${logoOrigin}`}; ` +
    // connect-src: the script posts the push subscription here; worker-src falls back to script-src.
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store"
})

interface Branded {
  readonly title: string
  readonly organizationName: string | null
  readonly color: string
  readonly logoUrl: string | null
}

const unbranded = (title: string): Branded => ({
  title,
  organizationName: null,
  color: DEFAULT_COLOR,
  logoUrl: null
})

const branded = (title: string, context: PageContext): Branded => {
  const brand = brandOf({ name: context.organizationName, branding: context.branding })
  return {
    title,
    organizationName: brand.organizationName,
    color: brand.branding.primaryColor ?? DEFAULT_COLOR,
    logoUrl: brand.branding.logoUrl ?? null
  }
}

const logoOrigin = (url: string | null) => {
  if (url === null) return null
  try {
    return new URL(url).origin
  } catch {
    return null
  }
}

const page = (brand: Branded, body: string, status = 200, extra: Record<string, string> = {}) =>
  HttpServerResponse.text(
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
      `<meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(brand.title)}${brand.organizationName === null ? "" : ` · ${escapeHtml(brand.organizationName)}`}</title>` +
      `<style>` +
      `body{font:1.0625rem/1.5 system-ui,sans-serif;margin:0;color:#111;background:#f7f7f8}` +
      `header{background:${brand.color};color:#fff;padding:1rem}header img{max-height:3rem;max-width:60%;display:block}` +
      `main{padding:1rem;max-width:32rem;margin:0 auto}label{display:block;font-weight:600;margin-top:1rem}` +
      `input[type=text],input[type=email],input[type=tel]{box-sizing:border-box;width:100%;font-size:1rem;padding:.75rem;` +
      `margin-top:.25rem;border:1px solid #777;border-radius:6px}` +
      `.check{display:flex;gap:.75rem;align-items:flex-start;font-weight:400}.check input{width:1.5rem;height:1.5rem;margin:0}` +
      `button{width:100%;min-height:3rem;font-size:1.0625rem;margin-top:1.5rem;border:0;border-radius:6px;` +
      `background:${brand.color};color:#fff}.hint{color:#444;font-size:.9375rem;margin:.25rem 0 0}` +
      `[role=alert]{border:2px solid #b00020;padding:.75rem;border-radius:6px;background:#fff}` +
      `:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}` +
      `</style></head><body><header>` +
      (brand.logoUrl === null
        ? `<p style="margin:0;font-weight:700">${escapeHtml(brand.organizationName ?? "Tapline")}</p>`
        : `<img src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(brand.organizationName ?? "")}">`) +
      `</header><main><h1>${escapeHtml(brand.title)}</h1>${body}</main></body></html>`,
    { status, contentType: "text/html; charset=utf-8" }
  ).pipe(HttpServerResponse.setHeaders({ ...headers(logoOrigin(brand.logoUrl)), ...extra }))

const refusals = {
  missing: [400, "This page opens from your wristband: tap it again to register."],
  malformed: [400, "This link is not a registration link. Tap your wristband again to register."],
  forged: [403, "This registration link is not valid. Tap your wristband again to register."],
  expired: [410, "This registration link has expired. Tap your wristband again to register."]
} as const

const refusal = (reason: keyof typeof refusals) =>
  page(unbranded("Link not valid"), `<p>${refusals[reason][1]}</p>`, refusals[reason][0])

interface FormValues {
  readonly name?: string
  readonly email?: string
  readonly phone?: string
  readonly emailConsent?: boolean
}

interface FieldErrors {
  readonly [field: string]: string
}

const field = (
  id: string,
  label: string,
  type: string,
  value: string | undefined,
  error: string | undefined,
  attributes: string
) =>
  `<label for="${id}">${label}</label>` +
  (error === undefined
    ? ""
    : `<p class="hint" id="${id}-error" style="color:#b00020">${escapeHtml(error)}</p>`) +
  `<input id="${id}" name="${id}" type="${type}" value="${escapeHtml(value ?? "")}" ${attributes}` +
  (error === undefined ? "" : ` aria-invalid="true" aria-describedby="${id}-error"`) +
  ">"

const form = (context: PageContext, csrf: string, values: FormValues = {}, errors: FieldErrors = {}) => {
  const problems = Object.values(errors)
  return (
    (problems.length === 0
      ? ""
      : `<div role="alert" tabindex="-1" id="problems"><p><strong>Please check the form:</strong></p><ul>` +
        problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("") +
        "</ul></div>") +
    `<p>Register your wristband for <strong>${escapeHtml(context.eventName)}</strong>.</p>` +
    `<form method="post" novalidate>` +
    `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">` +
    field(
      "name",
      "Your name",
      "text",
      values.name,
      errors.name,
      `autocomplete="name" required maxlength="${MAX_NAME}"`
    ) +
    field(
      "email",
      "Email",
      "email",
      values.email,
      errors.email,
      `autocomplete="email" inputmode="email" required`
    ) +
    field(
      "phone",
      "Mobile phone (optional)",
      "tel",
      values.phone,
      errors.phone,
      `autocomplete="tel" inputmode="tel" aria-describedby="phone-hint"`
    ) +
    `<p class="hint" id="phone-hint">With the country code, such as +44 7911 123456.</p>` +
    `<label class="check"><input type="checkbox" name="emailConsent" value="yes"${values.emailConsent === true ? " checked" : ""}>` +
    `<span>${escapeHtml(emailWording(context.organizationName, context.eventName))}</span></label>` +
    `<p class="hint">We send a link to confirm the address first.</p>` +
    `<button type="submit">Register</button></form>`
  )
}

const ONE_OF = ["csrf", "name", "email", "phone", "emailConsent"] as const

/** The form's fields checked; hostile input (control characters, NUL, oversized values) is refused by name. */
const checkForm = (
  params: ReadonlyArray<readonly [string, string]>,
  acceptLanguage: string | undefined
): { values: FormValues; errors: FieldErrors; form?: PageForm; csrf?: string } => {
  const seen = new Map<string, string>()
  const errors: Record<string, string> = {}
  for (const [key, value] of params) {
    if (!(ONE_OF as ReadonlyArray<string>).includes(key)) continue
    if (seen.has(key)) errors[key] = `${key}: given twice`
    seen.set(key, value)
  }
  const name = (seen.get("name") ?? "").trim()
  const email = (seen.get("email") ?? "").trim()
  const phoneText = (seen.get("phone") ?? "").trim()
  const emailConsent = seen.get("emailConsent") === "yes"
  const values = { name, email, phone: phoneText, emailConsent }
  if (name === "") errors.name ??= "Your name is required."
  else if (name.length > MAX_NAME) errors.name ??= `Your name can have at most ${MAX_NAME} characters.`
  else if (hasControlCharacters(name)) errors.name ??= "Your name holds characters that cannot be stored."
  const decodedEmail = Schema.decodeUnknownOption(Email)(email)
  if (Option.isNone(decodedEmail) || hasControlCharacters(email))
    errors.email ??= "Enter an email address such as name@example.com."
  let phone: string | undefined
  if (phoneText !== "") {
    const checked = checkPhone(phoneText)
    if (checked.ok) phone = checked.value
    else errors.phone ??= "Enter the number with its country code, such as +44 7911 123456."
  }
  const firstLanguage = acceptLanguage?.split(",")[0]?.split(";")[0]?.trim()
  const locale = firstLanguage === undefined || firstLanguage === "" ? undefined : checkLocale(firstLanguage)
  const csrf = seen.get("csrf")
  if (Object.keys(errors).length > 0 || Option.isNone(decodedEmail))
    return { values, errors, ...(csrf === undefined ? {} : { csrf }) }
  return {
    values,
    errors,
    ...(csrf === undefined ? {} : { csrf }),
    form: {
      name,
      email: decodedEmail.value,
      phone,
      locale: locale?.ok === true ? locale.value : undefined,
      emailConsent
    }
  }
}

export const layer = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const tokens = yield* RegistrationTokens
    const registrations = yield* PageRegistrations
    const config = yield* AppConfig
    // The registrants' unit of work runs in the caller's SQL context.
    const sql = yield* SqlClient.SqlClient
    const withSql = Effect.provideService(SqlClient.SqlClient, sql)
    const secure = publicOrigin(config).protocol === "https:"
    const tokenParam = Effect.map(HttpRouter.params, (params) => params.token)
    const devices = yield* PushSubscriptions
    const registrantsStored = yield* RegistrantRepository
    const vapidKey = Option.getOrUndefined(yield* PushPage.vapidPublicKey)
    const limiter = yield* RateLimiter.RateLimiter
    const pushLimits = yield* PushPage.limits

    /** One subscription post of the token's band: 429 past its minute (PushPage.limits). */
    const bandPushed = (claim: PageClaim) =>
      limiter
        .consume({
          key: `registration-push:band:${claim.eventId}:${claim.bandUid}`,
          limit: pushLimits.perBand,
          window: "1 minute",
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
        .pipe(exceededAsTooManyRequests("too many subscriptions from this page; wait a minute"))

    /** One subscription post of the organisation: 429 past its minute, whichever of its bands posts. */
    const organizationPushed = (context: PageContext) =>
      limiter
        .consume({
          key: `registration-push:organization:${context.organizationId}`,
          limit: pushLimits.perOrganization,
          window: "1 minute",
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
        .pipe(exceededAsTooManyRequests("too many subscriptions for this organisation; wait a minute"))

    const cookie = (nonce: string) =>
      `${COOKIE}=${nonce}; Path=/r/; HttpOnly; SameSite=Strict; Max-Age=${Math.ceil(tokens.ttlMillis / 1000)}` +
      (secure ? "; Secure" : "")

    /** The token checked against the clock, then its event: a refusal page, or what the page needs. */
    const claimed = Effect.gen(function* () {
      const token = yield* tokenParam
      const checked = tokens.check(token, Date.now())
      if (!checked.ok) return { refused: refusal(checked.reason) } as const
      const context = yield* registrations.context(checked.claim)
      if (context === undefined)
        return {
          refused: page(
            unbranded("Registration closed"),
            "<p>This event no longer takes registrations.</p>",
            404
          )
        } as const
      return { token: token!, claim: checked.claim, context } as const
    })

    /** The request came from a page of this host: the browser says so (Origin, Sec-Fetch-Site) when it posts. */
    const sameOrigin = (request: HttpServerRequest.HttpServerRequest) => {
      if (
        request.headers["sec-fetch-site"] !== undefined &&
        request.headers["sec-fetch-site"] !== "same-origin"
      )
        return false
      const origin = request.headers.origin
      if (origin === undefined) return true
      try {
        return new URL(origin).host === request.headers.host
      } catch {
        return false
      }
    }

    const crossSite = page(
      unbranded("Not accepted"),
      "<p>This form can only be sent from its own page. Open the page again and submit it there.</p>",
      403
    )

    const showForm = (
      found: { token: string; claim: PageClaim; context: PageContext },
      nonce: string,
      values?: FormValues,
      errors?: FieldErrors,
      status = 200
    ) =>
      page(
        branded("Register your wristband", found.context),
        form(found.context, tokens.csrf(found.token, nonce), values, errors),
        status,
        { "set-cookie": cookie(nonce) }
      )

    const existingNonce = (request: HttpServerRequest.HttpServerRequest) => {
      const nonce = request.cookies[COOKIE]
      return nonce !== undefined && /^[A-Za-z0-9_-]{22}$/.test(nonce) ? nonce : tokens.nonce()
    }

    yield* router.get(
      "/r/registration.js",
      Effect.succeed(
        HttpServerResponse.text(script, { contentType: "text/javascript; charset=utf-8" }).pipe(
          HttpServerResponse.setHeaders(headers(null))
        )
      )
    )
    yield* router.get(
      "/r/sw.js",
      Effect.succeed(
        HttpServerResponse.text(PushPage.serviceWorker, {
          contentType: "text/javascript; charset=utf-8"
        }).pipe(HttpServerResponse.setHeaders(headers(null)))
      )
    )
    yield* router.get("/r/", Effect.succeed(refusal("missing")))
    yield* router.post("/r/", Effect.succeed(refusal("missing")))

    yield* router.get(
      "/r/:token",
      Effect.gen(function* () {
        const found = yield* claimed
        if ("refused" in found) return found.refused
        return showForm(found, existingNonce(yield* HttpServerRequest.HttpServerRequest))
      })
    )

    yield* router.post(
      "/r/:token",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!sameOrigin(request)) return crossSite
        const found = yield* claimed
        if ("refused" in found) return found.refused
        const limited = yield* Effect.either(registrations.posted)
        if (limited._tag === "Left")
          return page(unbranded("Too many tries"), `<p>${escapeHtml(limited.left.message)}.</p>`, 429, {
            "retry-after": String(limited.left.retryAfterSeconds ?? 60)
          })
        const params = yield* Effect.orElseSucceed(request.urlParamsBody, () => null)
        if (params === null) return page(unbranded("Not accepted"), "<p>The form could not be read.</p>", 400)
        const checked = checkForm(params, request.headers["accept-language"])
        if (!tokens.checkCsrf(found.token, request.cookies[COOKIE], checked.csrf)) return crossSite
        if (checked.form === undefined)
          return showForm(found, request.cookies[COOKIE]!, checked.values, checked.errors, 400)
        const outcome = yield* Effect.either(withSql(registrations.register(found.claim, checked.form)))
        if (outcome._tag === "Left") {
          const error = outcome.left
          if (error._tag === "InvalidRequest")
            return showForm(found, request.cookies[COOKIE]!, checked.values, { form: error.message }, 400)
          const [status, message] =
            error._tag === "NotFound"
              ? [404, "This event no longer takes registrations."]
              : [409, error.message]
          return page(
            branded("Not registered yet", found.context),
            `<p role="alert">${escapeHtml(message)}</p>`,
            status
          )
        }
        const mail = outcome.right.mailed
          ? `<p role="status">We sent a link to <strong>${escapeHtml(checked.form.email)}</strong>. Follow it to confirm your email.</p>`
          : outcome.right.alreadyConfirmed
            ? '<p role="status">Your email was confirmed before: nothing more to do.</p>'
            : ""
        const onwards =
          found.context.continueUrl === null
            ? ""
            : `<p><a href="${escapeHtml(found.context.continueUrl)}">Continue to ${escapeHtml(found.context.eventName)}</a></p>`
        // Notifications are offered where a VAPID key is configured; the script posts the subscription with
        // the form's CSRF token (the same nonce cookie).
        const offer =
          vapidKey === undefined
            ? ""
            : ` data-key="${vapidKey}" data-csrf="${tokens.csrf(found.token, request.cookies[COOKIE]!)}"`
        return page(
          branded("You are registered", found.context),
          `${mail}<section id="push-offer"${offer} hidden><p>${escapeHtml(PushPage.pushWording(found.context.organizationName, found.context.eventName))}</p>` +
            `<button type="button" id="push">Turn on notifications</button></section>` +
            `<p id="push-status" role="status"></p>${onwards}<script src="/r/registration.js"></script>`
        )
      })
    )

    /** The push endpoint's answers: JSON for the page's script, nothing of the request echoed. */
    const answer = (status: number, tag: string, message: string, extra: Record<string, string> = {}) =>
      HttpServerResponse.unsafeJson({ _tag: tag, message }, { status }).pipe(
        HttpServerResponse.setHeaders({ "cache-control": "no-store", ...extra })
      )

    /**
     * The page's push subscription: same origin, the page token valid, the form's CSRF token (the nonce
     * cookie), rate-limited with the form's posts and then per band and per organisation (before the body is
     * read: garbage counts too), at most MAX_PUSH_BODY bytes of JSON. Stored as the band's registrant's device
     * with the push consent the offer asked for; past MAX_DEVICES_PER_REGISTRANT the oldest device goes.
     */
    yield* router.post(
      "/r/push/:token",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!sameOrigin(request)) return answer(403, "Forbidden", "only from the registration page")
        if (Number(request.headers["content-length"] ?? 0) > PushPage.MAX_PUSH_BODY)
          return answer(413, "PayloadTooLarge", `at most ${PushPage.MAX_PUSH_BODY} bytes`)
        const invalid = (status: number) =>
          answer(status, status === 410 ? "Gone" : "NotFound", "this registration link is not valid")
        const tooMany = (error: TooManyRequests) =>
          answer(429, "TooManyRequests", error.message, {
            "retry-after": String(error.retryAfterSeconds ?? 60)
          })
        // The token's own check and the limits that need no database come first: a flood through one page,
        // once past its minute, costs a Redis round trip, not a query.
        const checked = tokens.check(yield* tokenParam, Date.now())
        if (!checked.ok) return invalid(refusals[checked.reason][0])
        const early = yield* Effect.either(Effect.zipRight(registrations.posted, bandPushed(checked.claim)))
        if (early._tag === "Left") return tooMany(early.left)
        const found = yield* claimed
        if ("refused" in found) return invalid(found.refused.status)
        const late = yield* Effect.either(organizationPushed(found.context))
        if (late._tag === "Left") return tooMany(late.left)
        const text = yield* Effect.either(request.text)
        if (text._tag === "Left" || text.right.length > PushPage.MAX_PUSH_BODY)
          return answer(413, "PayloadTooLarge", `at most ${PushPage.MAX_PUSH_BODY} bytes`)
        const post = PushPage.decodePost(text.right)
        if (Option.isNone(post))
          return answer(400, "InvalidRequest", "expected { csrf, subscription: PushSubscription.toJSON() }")
        if (!tokens.checkCsrf(found.token, request.cookies[COOKIE], post.value.csrf))
          return answer(403, "Forbidden", "only from the registration page")
        const bandId = found.context.bandId
        const registrant =
          bandId === null ? undefined : yield* Effect.orDie(registrantsStored.findByBand(bandId))
        if (registrant === undefined) return answer(409, "Conflict", "register first")
        const { endpoint, keys } = post.value.subscription
        yield* withSql(
          devices.add(
            registrant.organizationId as OrganizationId,
            registrant.id,
            { kind: "webpush", endpoint, keys },
            {
              wording: PushPage.pushWording(found.context.organizationName, found.context.eventName),
              at: new Date()
            }
          )
        ).pipe(Effect.catchTags({ InvalidRequest: Effect.die, NotFound: Effect.die, Conflict: Effect.die }))
        return answer(201, "Subscribed", "notifications are on")
      })
    )

    const confirmPage = (title: string, body: string, status = 200) => page(unbranded(title), body, status)

    yield* router.get(
      "/r/confirm/:token",
      Effect.gen(function* () {
        const token = (yield* tokenParam) ?? ""
        if (!(yield* registrations.confirmable(token)))
          return confirmPage("Link not valid", "<p>This confirmation link is not valid.</p>", 404)
        // A button that posts: mail scanners open every link, and must not confirm anyone's consent.
        return confirmPage(
          "Confirm your email",
          `<form method="post"><button type="submit">Confirm my email</button></form>`
        )
      })
    )

    yield* router.post(
      "/r/confirm/:token",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (!sameOrigin(request)) return crossSite
        const limited = yield* Effect.either(registrations.posted)
        if (limited._tag === "Left")
          return confirmPage("Too many tries", `<p>${escapeHtml(limited.left.message)}.</p>`, 429)
        const outcome = yield* withSql(registrations.confirm((yield* tokenParam) ?? ""))
        if (outcome === "confirmed")
          return confirmPage("Email confirmed", '<p role="status">Thank you: your email is confirmed.</p>')
        if (outcome === "expired")
          return confirmPage(
            "Link expired",
            "<p>This link has expired. Register again to get a new one.</p>",
            410
          )
        return confirmPage("Link not valid", "<p>This confirmation link is not valid.</p>", 404)
      }).pipe(Effect.catchTags({ InvalidRequest: Effect.die, NotFound: Effect.die, Conflict: Effect.die }))
    )
  })
).pipe(
  Layer.provide([PageRegistrations.Default, PushSubscriptions.Default, RateLimiter.layer]),
  Layer.provide([Registrants.Default, Mailer.Default]),
  Layer.provide([Changes.Default, Audit.Default, BandRepository.Default, RegistrantRepository.Default])
)
