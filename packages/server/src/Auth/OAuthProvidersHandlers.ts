import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { Audit } from "../Audit/Audit.js"
import { requirePlatformAdmin } from "./Authorization.js"
import { OAuthProviders } from "./OAuthProviders.js"

/** Sign-in providers are the platform's: only a platform ADMIN manages them, and every change is audited. */
export const OAuthProvidersHandlers = HttpApiBuilder.group(TaplineApi, "oauthProviders", (handlers) =>
  Effect.gen(function* () {
    const providers = yield* OAuthProviders
    const audit = yield* Audit

    const recorded = (action: string, id: string, newValues?: unknown) =>
      audit.record({
        organizationId: null,
        action,
        resourceType: "oauth-provider",
        resourceId: id,
        newValues
      })

    /** What the audit keeps of a change: never the client secret. */
    const withoutSecret = <A extends { readonly clientSecret?: string | undefined }>({
      clientSecret,
      ...rest
    }: A) => ({
      ...rest,
      ...(clientSecret === undefined ? {} : { clientSecret: "(replaced)" })
    })

    return handlers
      .handle("list", () => Effect.zipRight(requirePlatformAdmin, Effect.orDie(providers.listAll)))
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const created = yield* providers.create(payload).pipe(Effect.catchTag("SqlError", Effect.die))
          yield* recorded("oauth_provider.create", created.id, withoutSecret(payload))
          return created
        })
      )
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          const updated = yield* providers
            .update(path.providerId, payload)
            .pipe(Effect.catchTag("SqlError", Effect.die))
          yield* recorded("oauth_provider.update", path.providerId, withoutSecret(payload))
          return updated
        })
      )
      .handle("remove", ({ path }) =>
        Effect.gen(function* () {
          yield* requirePlatformAdmin
          yield* providers.remove(path.providerId).pipe(Effect.catchTag("SqlError", Effect.die))
          yield* recorded("oauth_provider.delete", path.providerId)
        })
      )
  })
)
