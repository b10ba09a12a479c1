import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  Conflict,
  type Email,
  NotFound,
  type OrganizationId,
  type RegistrantId,
  type TooManyRequests
} from "@tapline/domain"
import { Clock, Config, Duration, Effect } from "effect"
import { Audit } from "../Audit/Audit.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import type { PageClaim } from "../Crypto/PageToken.js"
import { hashSecret, randomToken } from "../Crypto/Tokens.js"
import { JourneyMessageRepository } from "../Journeys/JourneyMessageRepository.js"
import { dueAt } from "../Journeys/Triggers.js"
import { Mailer } from "../Mail/Mailer.js"
import { type Brand, brandOf, escapeHtml, type Rendered } from "../Mail/MailTemplates.js"
import { exceededAsTooManyRequests } from "../Quotas/Quotas.js"
import { RegistrantRepository } from "./RegistrantRepository.js"
import { Registrants } from "./Registrants.js"
import { type PageContext, RegistrationPageRepository } from "./RegistrationPageRepository.js"

/** What the page's form gives, checked by the page (RegistrationPage.ts). */
export interface PageForm {
  readonly name: string
  readonly email: typeof Email.Type
  readonly phone: string | undefined
  readonly locale: string | undefined
  /** The email consent box was ticked; its wording is what the page showed beside it. */
  readonly emailConsent: boolean
}

/** The text beside the page's email box: what a confirmed consent records as its wording. */
export const emailWording = (organizationName: string, eventName: string) =>
  `Email me about ${eventName} and other news from ${organizationName}. I can unsubscribe at any time.`

/** The page's settings beside its token's (Crypto/PageToken.ts); none is required. */
export const config = Config.all({
  /** How long the mailed confirmation link (double opt-in) works. */
  confirmTtl: Config.duration("REGISTRATION_CONFIRM_TTL").pipe(Config.withDefault(Duration.days(7))),
  /** Form posts (registrations, confirmations) per client address per minute, across instances. */
  postsPerMinute: Config.integer("REGISTRATION_RATE_LIMIT_PER_MINUTE").pipe(Config.withDefault(20))
})

export type Confirmed = "confirmed" | "expired" | "invalid"

const CONFIRM_PREFIX = "tlc_"
const CONFIRM_TOKEN = /^tlc_[A-Za-z0-9_-]{43}$/

const hashed = (text: string) => hashSecret(text).toString("base64url")
const emailHash = (email: string) => hashed(`email:${email.toLowerCase()}`)

export const confirmationMail = (brand: Brand, eventName: string, link: string): Rendered => {
  const color = brand.branding.primaryColor ?? "#1f2937"
  const org = escapeHtml(brand.organizationName)
  return {
    subject: `Confirm your email for ${eventName}`,
    text:
      `You registered your wristband for ${eventName} and asked for emails from ${brand.organizationName}.\n\n` +
      `Confirm your address by following this link:\n${link}\n\n` +
      "If this was not you, ignore this mail: nothing is sent until the address is confirmed.\n",
    html:
      `<div style="font-family:sans-serif;max-width:32rem"><h1 style="color:${color}">${org}</h1>` +
      `<p>You registered your wristband for ${escapeHtml(eventName)} and asked for emails from ${org}.</p>` +
      `<p><a href="${escapeHtml(link)}" style="background:${color};color:#fff;padding:.6rem 1rem;` +
      `text-decoration:none;border-radius:6px">Confirm my email</a></p>` +
      "<p>If this was not you, ignore this mail: nothing is sent until the address is confirmed.</p></div>"
  }
}

/**
 * Registrations from the hosted page. A registration is the API's (Registrants.create or update, source
 * `page`): the same checks, audit and journeys' "registration received" trigger. The email consent is the
 * double opt-in: pending in `registration_confirmations` until the mailed link is followed, and only then
 * appended to the registrant's consents, which is all journeys read.
 */
export class PageRegistrations extends Effect.Service<PageRegistrations>()(
  "@tapline/server/PageRegistrations",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* RegistrationPageRepository
      const stored = yield* RegistrantRepository
      const journeyMessages = yield* JourneyMessageRepository
      const registrants = yield* Registrants
      const mailer = yield* Mailer
      const audit = yield* Audit
      const limiter = yield* RateLimiter.RateLimiter
      const settings = yield* config
      const origin = publicOrigin(yield* AppConfig)
      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const context = (claim: PageClaim) => Effect.orDie(repository.context(claim.eventId, claim.bandUid))

      /** One form post from the caller's address; 429 past REGISTRATION_RATE_LIMIT_PER_MINUTE, on every instance. */
      const posted: Effect.Effect<void, TooManyRequests> = Effect.gen(function* () {
        const ip = (yield* audit.requestIp) ?? "unknown"
        yield* limiter.consume({
          key: `registration-page:${ip}`,
          limit: settings.postsPerMinute,
          window: "1 minute",
          algorithm: "fixed-window",
          onExceeded: "fail"
        })
      }).pipe(exceededAsTooManyRequests("too many registrations from this address; wait a minute"))

      /** A fresh confirmation of `email` for the registrant, and its mail. */
      const askConfirmation = (found: PageContext, registrantId: RegistrantId, email: string) =>
        Effect.gen(function* () {
          const token = randomToken(CONFIRM_PREFIX)
          const at = yield* now
          yield* Effect.orDie(
            repository.insert({
              organizationId: found.organizationId,
              registrantId,
              tokenHash: hashed(token),
              emailHash: emailHash(email),
              wording: emailWording(found.organizationName, found.eventName),
              submittedAt: at,
              expiresAt: new Date(at.getTime() + Duration.toMillis(settings.confirmTtl))
            })
          )
          const brand = brandOf({ name: found.organizationName, branding: found.branding })
          const link = new URL(`/r/confirm/${token}`, origin).href
          yield* Effect.orDie(
            mailer.send("registration-confirm", email, confirmationMail(brand, found.eventName, link))
          )
        })

      /**
       * Registers the band the token names. Again for a band already registered: its registrant takes the new
       * values; a new address withdraws the email consent the old one had, and is confirmed afresh.
       */
      const register = Effect.fn("PageRegistrations.register")(function* (claim: PageClaim, form: PageForm) {
        const found = yield* context(claim)
        if (found === undefined) return yield* new NotFound({ resource: "event", id: claim.eventId })
        if (found.bandId === null)
          return yield* new Conflict({
            message: "this band is being set up; submit the form again in a moment"
          })
        const organizationId = found.organizationId as OrganizationId
        const fields = {
          name: form.name,
          email: form.email,
          ...(form.phone === undefined ? {} : { phone: form.phone }),
          ...(form.locale === undefined ? {} : { locale: form.locale })
        }
        const existing = yield* Effect.orDie(stored.findByBand(found.bandId))
        const registrant =
          existing === undefined
            ? yield* registrants.create(organizationId, { bandId: found.bandId as never, ...fields }, "page")
            : yield* registrants.update(
                organizationId,
                existing.id,
                {
                  ...fields,
                  consents:
                    existing.email !== null && existing.email.toLowerCase() !== form.email.toLowerCase()
                      ? [{ channel: "email", granted: false }]
                      : []
                },
                "page"
              )
        const confirmed = registrant.consents.some((c) => c.channel === "email" && c.granted)
        if (form.emailConsent && !confirmed) yield* askConfirmation(found, registrant.id, form.email)
        return { mailed: form.emailConsent && !confirmed, alreadyConfirmed: form.emailConsent && confirmed }
      })

      const pending = (token: string) =>
        CONFIRM_TOKEN.test(token)
          ? Effect.orDie(repository.byToken(hashed(token)))
          : Effect.succeed(undefined)

      /**
       * Follows a confirmation link: the email consent is recorded (when: now; how: `page`; the wording the page
       * showed), once. Refused when expired, or when the registrant's address is no longer the one confirmed.
       */
      const confirm = Effect.fn("PageRegistrations.confirm")(function* (token: string) {
        const row = yield* pending(token)
        if (row === undefined) return "invalid" as Confirmed
        if (row.confirmedAt !== null) return "confirmed" as Confirmed
        const at = yield* now
        if (row.expiresAt.getTime() <= at.getTime()) return "expired" as Confirmed
        const organizationId = row.organizationId as OrganizationId
        const registrantId = row.registrantId as RegistrantId
        const registrant = yield* Effect.orDie(stored.find(organizationId, registrantId))
        if (registrant?.email == null || emailHash(registrant.email) !== row.emailHash)
          return "invalid" as Confirmed
        return yield* sql
          .withTransaction(
            Effect.gen(function* () {
              if (!(yield* Effect.orDie(repository.markConfirmed(row.id, at))))
                return "confirmed" as Confirmed
              yield* registrants.update(
                organizationId,
                registrantId,
                { consents: [{ channel: "email", granted: true, at, wording: row.wording }] },
                "page"
              )
              // A journey that fired while the address waited for this (its "registration received", say) found
              // no consent and was skipped: it goes out now, as the person asked.
              yield* journeyMessages.awaitedConsent(registrant.bandId, row.submittedAt, (quiet) =>
                dueAt(at, { ...quiet, delayMinutes: 0 })
              )
              return "confirmed" as Confirmed
            })
          )
          .pipe(Effect.catchTag("SqlError", Effect.die))
      })

      /** Whether a confirmation link names a pending confirmation (the page shows its button). */
      const confirmable = (token: string) => Effect.map(pending(token), (row) => row !== undefined)

      return { context, posted, register, confirm, confirmable } as const
    }),
    dependencies: [
      RegistrationPageRepository.Default,
      RegistrantRepository.Default,
      JourneyMessageRepository.Default,
      RateLimiter.layer
    ]
  }
) {}
