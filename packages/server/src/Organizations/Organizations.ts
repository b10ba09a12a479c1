import type { SqlError } from "@effect/sql/SqlError"
import {
  Conflict,
  type CreateOrganization,
  Forbidden,
  InvalidRequest,
  Organization,
  type OrganizationId,
  type Principal,
  Slug,
  type UpdateOrganization,
  type UploadId
} from "@tapline/domain"
import { Effect, Schema, Stream } from "effect"
import { Changes } from "../Admin/Changes.js"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { patchColumns } from "../Admin/Patch.js"
import { AppConfig, publicOrigin } from "../Config/AppConfig.js"
import { MemberRepository } from "../Members/MemberRepository.js"
import { type ObjectKey, organizationKey, Storage } from "../Storage/Storage.js"
import { Uploads } from "../Uploads/Uploads.js"
import { hostedLogoPath, LOGO_PATH, sniffImage } from "./OrganizationLogo.js"
import { OrganizationRepository, type OrganizationRow } from "./OrganizationRepository.js"

/** Sub-domains Tapline or its operators may need for themselves. */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  "www",
  "api",
  "admin",
  "app",
  "console",
  "e",
  "tap",
  "taps",
  "mail",
  "smtp",
  "static",
  "assets",
  "cdn",
  "docs",
  "status",
  "help",
  "support",
  "auth",
  "login",
  "signin",
  "oauth",
  "health",
  "metrics",
  "tapline"
])

const decode = (row: OrganizationRow) => Effect.orDie(Schema.decodeUnknown(Organization)(row))
const isSlug = Schema.is(Slug)

/** Organisations (tenants). Authorisation by role is the caller's; who may found one is a rule here. */
export class Organizations extends Effect.Service<Organizations>()("@tapline/server/Organizations", {
  effect: Effect.gen(function* () {
    const repository = yield* OrganizationRepository
    const members = yield* MemberRepository
    const changes = yield* Changes
    const uploads = yield* Uploads
    const storage = yield* Storage
    const config = yield* AppConfig

    /** A platform admin sees every organisation, anyone else those they are a member of. */
    const list = Effect.fn("Organizations.list")(function* (principal: Principal, request: PageRequest) {
      const memberOf = principal.platformAdmin ? null : Object.keys(principal.roles)
      return yield* listPage(
        request,
        (query) => repository.list({ ...query, memberOf }),
        decode,
        (o) => o.id
      )
    })

    const get = Effect.fn("Organizations.get")(function* (id: OrganizationId) {
      return yield* decode(yield* changes.found("organization", id, repository.find(id)))
    })

    /** The founder (a person, not a platform admin) becomes its first OWNER in the same transaction. */
    const create = Effect.fn("Organizations.create")(function* (
      principal: Principal,
      input: typeof CreateOrganization.Type
    ) {
      // Organisation keys act inside their organisation only; people and platform admins found new ones.
      if (!principal.platformAdmin && principal.userId === null) {
        return yield* new Forbidden({ message: "an organisation API key cannot create organisations" })
      }
      if (RESERVED_SLUGS.has(input.slug)) {
        return yield* new Conflict({ message: `the slug "${input.slug}" is reserved` })
      }
      const founder = principal.platformAdmin ? null : principal.userId
      const row = yield* changes.transact(
        Effect.gen(function* () {
          const row = yield* repository.insertRow({
            slug: input.slug,
            name: input.name,
            websiteUrl: input.websiteUrl ?? null,
            contactEmail: input.contactEmail ?? null,
            branding: input.branding ?? {}
          })
          if (founder !== null)
            yield* members.addIfAbsent({ organizationId: row.id, userId: founder, role: "OWNER" })
          yield* changes.record({
            organizationId: row.id,
            action: "organization.create",
            resourceType: "organization",
            resourceId: row.id,
            newValues: row
          })
          return row
        })
      )
      yield* changes.project(row.id)
      return yield* decode(row)
    })

    const slugAvailability = Effect.fn("Organizations.slugAvailability")(function* (slug: string) {
      if (!isSlug(slug)) return { slug, available: false, reason: "invalid" as const }
      if (RESERVED_SLUGS.has(slug)) return { slug, available: false, reason: "reserved" as const }
      // Deleted organisations keep their slug: their bands may still be out there.
      return (yield* Effect.orDie(repository.slugExists(slug)))
        ? { slug, available: false, reason: "taken" as const }
        : { slug, available: true, reason: null }
    })

    const change = (
      id: OrganizationId,
      action: string,
      apply: (before: OrganizationRow) => Effect.Effect<ReadonlyArray<OrganizationRow>, SqlError>
    ) =>
      changes
        .changeRow({
          organizationId: id,
          resourceType: "organization",
          resourceId: id,
          action,
          lock: repository.find(id, { lock: true }),
          apply
        })
        .pipe(Effect.tap(() => changes.project(id)))

    const update = Effect.fn("Organizations.update")(function* (
      id: OrganizationId,
      input: typeof UpdateOrganization.Type
    ) {
      const columns = patchColumns(input)
      let replaced: ObjectKey | null = null
      const row = yield* change(id, "organization.update", (before) => {
        if (Object.keys(columns).length === 0) return Effect.succeed([])
        if (input.branding === undefined) return repository.updateColumns(id, columns)
        // The logo is set and removed through …/logo: branding without a logoUrl keeps the current one, and
        // one that replaces the hosted logo removes its object (nothing is left behind in storage).
        const current = (before.branding as { logoUrl?: string } | null)?.logoUrl
        const logoUrl = input.branding.logoUrl ?? current
        const hosted = logoKeyOf(id, before.branding)
        if (hosted !== null && logoUrl !== current) replaced = hosted
        return repository.updateColumns(id, {
          ...columns,
          branding: withLogo(input.branding, logoUrl ?? null)
        })
      })
      if (replaced !== null) yield* Effect.orDie(storage.remove(replaced))
      return yield* decode(row)
    })

    /** The logo path Tapline hosts in this branding, as a storage key; null when there is none. */
    const logoKeyOf = (id: OrganizationId, branding: unknown) => {
      const path = hostedLogoPath((branding as { logoUrl?: string } | null)?.logoUrl)
      const match = path === null ? null : LOGO_PATH.exec(path)
      return match === null || match[1] !== id ? null : organizationKey(id, "logo", match[2]!)
    }

    /** Branding with another logo URL (or none), the rest kept. */
    const withLogo = (branding: unknown, logoUrl: string | null) => {
      const { logoUrl: _, ...rest } = (branding ?? {}) as Record<string, unknown>
      return logoUrl === null ? rest : { ...rest, logoUrl }
    }

    /** Sets the branding's logo URL (or clears it), then removes the object of the logo it replaced. */
    const replaceLogo = (id: OrganizationId, logoUrl: string | null) =>
      Effect.gen(function* () {
        // Read from the row the change locked, so the object removed is the one the change replaced.
        let previous: ObjectKey | null = null
        const row = yield* change(id, "organization.logo", (before) => {
          previous = logoKeyOf(id, before.branding)
          return repository.updateColumns(id, { branding: withLogo(before.branding, logoUrl) })
        })
        if (previous !== null) yield* Effect.orDie(storage.remove(previous))
        return yield* decode(row)
      })

    /**
     * An uploaded image becomes the logo: its bytes must be the image type declared (signature checked), it is
     * copied under `org/<id>/logo/`, served by Tapline at `/logos/<id>/<file>`, and the previous one removed.
     */
    const setLogo = Effect.fn("Organizations.setLogo")(function* (id: OrganizationId, uploadId: UploadId) {
      const file = yield* uploads.read(id, uploadId, "logo")
      const image = sniffImage(file.bytes)
      if (image === null || image.contentType !== file.contentType) {
        return yield* new InvalidRequest({ message: `the uploaded file is not a ${file.contentType} image` })
      }
      const name = `${uploadId}.${image.ext}`
      yield* Effect.orDie(
        storage.put(organizationKey(id, "logo", name), Stream.make(file.bytes), {
          contentType: image.contentType
        })
      )
      const organization = yield* replaceLogo(id, new URL(`/logos/${id}/${name}`, publicOrigin(config)).href)
      yield* uploads.discard(id, uploadId)
      return organization
    })

    const removeLogo = Effect.fn("Organizations.removeLogo")(function* (id: OrganizationId) {
      return yield* replaceLogo(id, null)
    })

    const remove = Effect.fn("Organizations.remove")(function* (id: OrganizationId) {
      yield* change(id, "organization.delete", () => repository.softDelete(id))
    })

    return { list, get, create, slugAvailability, update, setLogo, removeLogo, remove } as const
  }),
  dependencies: [OrganizationRepository.Default, MemberRepository.Default, Uploads.Default]
}) {}
