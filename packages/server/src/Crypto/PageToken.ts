import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto"
import { Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"

/*
 * The tokens of the hosted registration page (docs/decisions.md, "The registration page").
 *
 * A page token is minted by the redirect for the band that was tapped: `<eventId>.<bandUid>.<expiry>.<mac>`,
 * the expiry in seconds since the epoch (base 36) and the MAC the first 32 base64url characters (192 bits) of
 * HMAC-SHA256 over the rest. It binds the event and the band's uid, not the band's row: a band auto-assigned
 * by this very tap has no row yet. Stateless, so the hot path writes nothing and any instance with the key
 * checks it.
 *
 * The form's CSRF token is an HMAC of the page token and a random nonce the page sets as a SameSite=Strict
 * cookie: a post must carry both, and a cross-site post carries no cookie.
 */

const MAC_LENGTH = 32
const BAND_UID = /^[A-Za-z0-9-]{1,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const EXPIRY = /^[0-9a-z]{1,10}$/
const NONCE = /^[A-Za-z0-9_-]{22}$/

export interface PageClaim {
  readonly eventId: string
  readonly bandUid: string
  readonly expiresAt: number
}

export type Checked =
  | { readonly ok: true; readonly claim: PageClaim }
  | { readonly ok: false; readonly reason: "missing" | "malformed" | "forged" | "expired" }

export interface RegistrationTokensShape {
  readonly ttlMillis: number
  /** A page token for the band, valid for REGISTRATION_TOKEN_TTL from `now`. On the hot path: no allocation beyond the HMAC. */
  readonly mint: (eventId: string, bandUid: string, now: number) => string
  readonly check: (token: string | undefined, now: number) => Checked
  /** A fresh nonce for the page's cookie. */
  readonly nonce: () => string
  readonly csrf: (pageToken: string, nonce: string) => string
  readonly checkCsrf: (pageToken: string, nonce: string | undefined, given: string | undefined) => boolean
}

export class RegistrationTokens extends Context.Tag("@tapline/server/RegistrationTokens")<
  RegistrationTokens,
  RegistrationTokensShape
>() {}

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

export const make = (key: Uint8Array, ttl: Duration.Duration): RegistrationTokensShape => {
  const ttlMillis = Duration.toMillis(ttl)
  const mac = (text: string) =>
    createHmac("sha256", key).update(text).digest("base64url").slice(0, MAC_LENGTH)

  const mint = (eventId: string, bandUid: string, now: number) => {
    const body = `${eventId}.${bandUid}.${Math.ceil((now + ttlMillis) / 1000).toString(36)}`
    return `${body}.${mac(body)}`
  }

  const check = (token: string | undefined, now: number): Checked => {
    if (token === undefined || token === "") return { ok: false, reason: "missing" }
    const parts = token.split(".")
    if (parts.length !== 4) return { ok: false, reason: "malformed" }
    const [eventId, bandUid, expiry, given] = parts as [string, string, string, string]
    if (!UUID.test(eventId) || !BAND_UID.test(bandUid) || !EXPIRY.test(expiry) || given.length !== MAC_LENGTH)
      return { ok: false, reason: "malformed" }
    if (!sameText(mac(`${eventId}.${bandUid}.${expiry}`), given)) return { ok: false, reason: "forged" }
    const expiresAt = Number.parseInt(expiry, 36) * 1000
    if (expiresAt <= now) return { ok: false, reason: "expired" }
    return { ok: true, claim: { eventId, bandUid, expiresAt } }
  }

  const csrf = (pageToken: string, nonce: string) => mac(`csrf.${pageToken}.${nonce}`)

  return {
    ttlMillis,
    mint,
    check,
    nonce: () => randomBytes(16).toString("base64url"),
    csrf,
    checkCsrf: (pageToken, nonce, given) =>
      nonce !== undefined &&
      given !== undefined &&
      NONCE.test(nonce) &&
      sameText(csrf(pageToken, nonce), given)
  }
}

/** The page token's settings; none is required. */
export const config = Config.all({
  /** The HMAC key of page tokens (at least 32 characters). Instances that share a domain must share it. */
  key: Config.option(
    Config.redacted("REGISTRATION_TOKEN_KEY").pipe(
      Config.validate({
        message: "expected at least 32 characters",
        validation: (key) => Redacted.value(key).length >= 32
      })
    )
  ),
  encryptionKeys: Config.option(Config.redacted("TAPLINE_ENCRYPTION_KEYS")),
  /** How long after the tap the page takes the band's registration. */
  ttl: Config.duration("REGISTRATION_TOKEN_TTL").pipe(Config.withDefault(Duration.minutes(30)))
})

/**
 * REGISTRATION_TOKEN_KEY; else a key derived from TAPLINE_ENCRYPTION_KEYS (which instances already share);
 * else a random key of this process, which the log says (its links work on this instance only, until restart).
 */
export const layer = Layer.effect(
  RegistrationTokens,
  Effect.gen(function* () {
    const settings = yield* config
    const key = Option.match(settings.key, {
      onSome: (key) => Option.some(Buffer.from(Redacted.value(key))),
      onNone: () =>
        Option.map(settings.encryptionKeys, (keys) =>
          Buffer.from(hkdfSync("sha256", Redacted.value(keys), "", "tapline registration page token", 32))
        )
    })
    if (Option.isNone(key)) {
      yield* Effect.logWarning(
        "REGISTRATION_TOKEN_KEY and TAPLINE_ENCRYPTION_KEYS are not set: registration page links work on this instance only, until it restarts"
      )
    }
    return make(
      Option.getOrElse(key, () => randomBytes(32)),
      settings.ttl
    )
  })
)
