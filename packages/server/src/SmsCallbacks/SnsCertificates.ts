import { Data, Effect, Option } from "effect"
import { CallbacksConfig } from "./CallbacksConfig.js"
import { trustedSnsUrl } from "./SnsSignature.js"

/**
 * A certificate or confirmation that could not be had. `refused`: SNS's host answered, and not with a
 * certificate (the URL names none: the sender's mistake, 403); otherwise it was unreachable (503, SNS retries).
 */
export class SnsFetchError extends Data.TaggedError("SnsFetchError")<{
  readonly message: string
  readonly refused: boolean
}> {}

class Answered extends Error {}

/** A certificate is a couple of kilobytes; anything far bigger is not one. */
const MAX_BYTES = 64 * 1024
const TIMEOUT_MS = 5_000
/** AWS rotates signing certificates rarely; a handful of URLs covers every region a deployment uses. */
const MAX_CACHED = 32

const get = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, {
        redirect: "error",
        signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])
      })
      const text = await response.text()
      if (!response.ok) throw new Answered(`HTTP ${response.status}`)
      if (text.length > MAX_BYTES) throw new Answered("too large")
      return text
    },
    catch: (cause) =>
      new SnsFetchError({
        message: cause instanceof Error ? cause.message : String(cause),
        refused: cause instanceof Answered
      })
  })

/**
 * SNS's signing certificates, fetched only from a URL `trustedSnsUrl` accepts and kept once fetched (a
 * signature check per callback must not cost a request to AWS). Only certificates that parsed are kept,
 * so an outage is not remembered. Also confirms subscriptions, on the same trusted hosts.
 */
export class SnsCertificates extends Effect.Service<SnsCertificates>()("@tapline/server/SnsCertificates", {
  effect: Effect.gen(function* () {
    const settings = yield* CallbacksConfig
    const testHost = Option.getOrUndefined(settings.snsTrustedCertHost)
    const cache = new Map<string, string>()

    /** undefined when the URL is not trusted (the caller refuses the message); fails when a trusted one is down. */
    const certificate = (url: string) =>
      Effect.gen(function* () {
        if (!trustedSnsUrl(url, testHost, { certificate: true })) return undefined
        const cached = cache.get(url)
        if (cached !== undefined) return cached
        const pem = yield* get(url)
        if (!pem.includes("-----BEGIN CERTIFICATE-----"))
          return yield* new SnsFetchError({ message: "not a certificate", refused: true })
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!)
        cache.set(url, pem)
        return pem
      })

    /** Visits SubscribeURL, which is how SNS learns the endpoint wants the topic's messages. */
    const confirm = (url: string) =>
      trustedSnsUrl(url, testHost, { certificate: false })
        ? Effect.asVoid(get(url))
        : Effect.fail(new SnsFetchError({ message: "SubscribeURL is not on an SNS host", refused: true }))

    return { certificate, confirm } as const
  })
}) {}
