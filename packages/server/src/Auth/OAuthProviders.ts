import * as SqlClient from "@effect/sql/SqlClient"
import type { CreateOAuthProvider, OAuthProviderConfig, UpdateOAuthProvider } from "@tapline/domain"
import { Conflict, InvalidRequest, NotFound } from "@tapline/domain"
import { DateTime, Effect, Option } from "effect"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { reencryptStale, SecretBox } from "../Crypto/SecretBox.js"
import * as OutboundClient from "../Outbound/OutboundClient.js"
import * as OutboundPolicy from "../Outbound/OutboundPolicy.js"
import type { OAuthProvider, ProviderSettings } from "./OAuth/OAuthProvider.js"
import { makeProvider } from "./OAuth/providers.js"

interface ProviderRow {
  readonly id: string
  readonly kind: ProviderSettings["kind"]
  readonly displayName: string
  readonly clientId: string
  readonly clientSecret: string | null
  readonly issuer: string | null
  readonly settings: Record<string, string>
  readonly enabled: boolean
  readonly lastError: string | null
  readonly lastErrorAt: Date | null
}

const associatedData = (providerId: string) => `oauth-client-secret:${providerId}`

const toConfig = (row: ProviderRow): typeof OAuthProviderConfig.Type => ({
  id: row.id,
  kind: row.kind,
  displayName: row.displayName,
  clientId: row.clientId,
  hasClientSecret: row.clientSecret !== null,
  issuer: row.issuer,
  settings: row.settings,
  enabled: row.enabled,
  lastError:
    row.lastError === null || row.lastErrorAt === null
      ? null
      : { category: row.lastError, at: DateTime.unsafeFromDate(row.lastErrorAt) }
})

/** What each kind needs to work; checked on every write so a stored provider can always be built. */
const checkComplete = (
  row: Omit<ProviderRow, "clientSecret" | "lastError" | "lastErrorAt"> & { readonly hasSecret: boolean }
) => {
  const missing = (what: string) =>
    Effect.fail(new InvalidRequest({ message: `a ${row.kind} provider needs ${what}` }))
  if (row.kind === "oidc") {
    if (row.issuer === null) return missing("issuer (the issuer URL)")
    if (!URL.canParse(row.issuer) || !/^https?:$/.test(new URL(row.issuer).protocol)) {
      return missing("an http(s) issuer URL")
    }
  }
  if (row.kind === "apple" && (row.settings.teamId === undefined || row.settings.keyId === undefined)) {
    return missing("settings.teamId and settings.keyId")
  }
  if (row.kind !== "oidc" && row.kind !== "entra" && row.issuer !== null) {
    return Effect.fail(new InvalidRequest({ message: `a ${row.kind} provider takes no issuer` }))
  }
  if (!row.hasSecret && row.kind !== "entra" && row.kind !== "oidc") return missing("clientSecret")
  return Effect.void
}

/**
 * The configured sign-in providers. Client secrets are stored encrypted (SecretBox, bound to the provider
 * id) and only decrypted to build a provider for a sign-in.
 */
export class OAuthProviders extends Effect.Service<OAuthProviders>()("@tapline/server/OAuthProviders", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const box = yield* SecretBox
    const config = yield* AppConfig
    const policy = OutboundPolicy.make(config.outbound.allow)
    const outbound = { policy, client: OutboundClient.make(policy) }

    const columns = sql`id, kind, display_name, client_id, client_secret, issuer, settings, enabled, last_error,
      last_error_at`

    const find = (id: string) =>
      Effect.map(sql<ProviderRow>`select ${columns} from oauth_providers where id = ${id}`, (rows) =>
        Option.fromNullable(rows[0])
      )

    const listEnabled = sql<ProviderRow>`
      select ${columns} from oauth_providers where enabled order by display_name, id`

    const listAll = Effect.map(sql<ProviderRow>`select ${columns} from oauth_providers order by id`, (rows) =>
      rows.map(toConfig)
    )

    /** The enabled provider `id`, ready for a sign-in; none when it is unknown or disabled. */
    const provider = (id: string) =>
      Effect.gen(function* () {
        const row = yield* find(id)
        if (Option.isNone(row) || !row.value.enabled) return Option.none<OAuthProvider>()
        const { clientSecret, ...rest } = row.value
        const secret =
          clientSecret === null ? null : yield* Effect.orDie(box.decrypt(clientSecret, associatedData(id)))
        const redirectUri = new URL(`/api/v1/auth/oauth/${id}/callback`, publicOrigin(config)).href
        return Option.some(makeProvider({ ...rest, clientSecret: secret, redirectUri, outbound }))
      })

    const create = (input: typeof CreateOAuthProvider.Type) =>
      Effect.gen(function* () {
        const row = {
          id: input.id,
          kind: input.kind,
          displayName: input.displayName,
          clientId: input.clientId,
          issuer: input.issuer ?? null,
          settings: input.settings ?? {},
          enabled: input.enabled ?? true
        }
        yield* checkComplete({ ...row, hasSecret: input.clientSecret !== undefined })
        const secret =
          input.clientSecret === undefined ? null : box.encrypt(input.clientSecret, associatedData(input.id))
        const inserted = yield* sql<ProviderRow>`
          insert into oauth_providers (id, kind, display_name, client_id, client_secret, issuer, settings, enabled)
          values (${row.id}, ${row.kind}, ${row.displayName}, ${row.clientId}, ${secret}, ${row.issuer},
            ${JSON.stringify(row.settings)}::jsonb, ${row.enabled})
          on conflict (id) do nothing
          returning ${columns}`
        if (inserted[0] === undefined) {
          return yield* Effect.fail(new Conflict({ message: `a provider named ${input.id} exists` }))
        }
        return toConfig(inserted[0])
      })

    const update = (id: string, input: typeof UpdateOAuthProvider.Type) =>
      Effect.gen(function* () {
        const current = yield* find(id)
        if (Option.isNone(current))
          return yield* Effect.fail(new NotFound({ resource: "oauth-provider", id }))
        const next = {
          ...current.value,
          displayName: input.displayName ?? current.value.displayName,
          clientId: input.clientId ?? current.value.clientId,
          issuer: input.issuer ?? current.value.issuer,
          settings: input.settings ?? current.value.settings,
          enabled: input.enabled ?? current.value.enabled,
          clientSecret:
            input.clientSecret === undefined
              ? current.value.clientSecret
              : box.encrypt(input.clientSecret, associatedData(id))
        }
        yield* checkComplete({ ...next, hasSecret: next.clientSecret !== null })
        const [updated] = yield* sql<ProviderRow>`
          update oauth_providers set display_name = ${next.displayName}, client_id = ${next.clientId},
            client_secret = ${next.clientSecret}, issuer = ${next.issuer},
            settings = ${JSON.stringify(next.settings)}::jsonb, enabled = ${next.enabled}, updated_at = now()
          where id = ${id}
          returning ${columns}`
        return toConfig(updated!)
      })

    const remove = (id: string) =>
      Effect.flatMap(sql`delete from oauth_providers where id = ${id} returning id`, (rows) =>
        rows.length === 0 ? Effect.fail(new NotFound({ resource: "oauth-provider", id })) : Effect.void
      )

    /** A sign-in could not use the provider: kept for the ADMIN's list (a category, never an address). */
    const recordError = (id: string, category: string) =>
      sql`update oauth_providers set last_error = ${category}, last_error_at = now() where id = ${id}`

    /** A sign-in through the provider worked: what failed before is no longer the case. */
    const clearError = (id: string) =>
      sql`update oauth_providers set last_error = null, last_error_at = null
          where id = ${id} and last_error is not null`

    /** Re-encrypts client secrets under the current key; returns how many changed. */
    const reencryptSecrets = Effect.gen(function* () {
      const rows = yield* sql<{ id: string; clientSecret: string }>`
        select id, client_secret from oauth_providers where client_secret is not null`
      return yield* reencryptStale(
        box,
        rows,
        (row) => ({ stored: row.clientSecret, associatedData: associatedData(row.id) }),
        (row, stored) => sql`update oauth_providers set client_secret = ${stored}
                             where id = ${row.id} and client_secret = ${row.clientSecret}`
      )
    })

    return {
      listPublic: Effect.map(listEnabled, (rows) =>
        rows.map((row) => ({ id: row.id, kind: row.kind, displayName: row.displayName }))
      ),
      listAll,
      provider,
      create,
      update,
      remove,
      recordError,
      clearError,
      reencryptSecrets
    } as const
  })
}) {}
