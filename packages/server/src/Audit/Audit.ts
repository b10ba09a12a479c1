import { randomUUID } from "node:crypto"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { CurrentPrincipal, type OrganizationId } from "@tapline/domain"
import { Effect, Option } from "effect"
import { listPage, type PageRequest } from "../Admin/Pagination.js"
import { AppConfig } from "../Config/AppConfig.js"
import { clientAddress } from "../Net/ClientAddress.js"
import type { RecordedChange } from "../Outbox/RecordedChange.js"
import { type AuditQuery, AuditRepository } from "./AuditRepository.js"

export type AuditChange = RecordedChange

const header = (request: HttpServerRequest.HttpServerRequest, name: string, max: number) => {
  const value = request.headers[name]
  return typeof value === "string" && value.length > 0 ? value.slice(0, max) : null
}

/**
 * Writes the audit entry of a change. Call it inside the change's transaction: both commit or neither does.
 * Who and from where come from the request being served (principal, client ip, user agent, request id)
 * and the current span (trace id); outside a request, the actor is the system.
 */
export class Audit extends Effect.Service<Audit>()("@tapline/server/Audit", {
  effect: Effect.gen(function* () {
    const repository = yield* AuditRepository
    const { taps } = yield* AppConfig
    const ipHeader = Option.getOrUndefined(taps.clientIpHeader)?.toLowerCase()

    const clientIp = (request: HttpServerRequest.HttpServerRequest) =>
      clientAddress(
        ipHeader === undefined ? null : header(request, ipHeader, 500),
        Option.getOrNull(request.remoteAddress)
      )

    const record = (change: AuditChange) =>
      Effect.gen(function* () {
        const principal = yield* Effect.serviceOption(CurrentPrincipal)
        const request = yield* Effect.serviceOption(HttpServerRequest.HttpServerRequest)
        const span = yield* Effect.option(Effect.currentSpan)
        yield* repository.append({
          actorType: Option.match(principal, {
            onNone: () => change.actor?.type ?? ("system" as const),
            onSome: (p) => p.actorType
          }),
          actorId: Option.match(principal, {
            onNone: () => change.actor?.id ?? null,
            onSome: (p) => p.actorId
          }),
          organizationId: change.organizationId,
          action: change.action,
          resourceType: change.resourceType,
          resourceId: change.resourceId,
          oldValues: change.oldValues ?? null,
          newValues: change.newValues ?? null,
          ip: Option.match(request, { onNone: () => null, onSome: clientIp }),
          userAgent: Option.match(request, {
            onNone: () => null,
            onSome: (r) => header(r, "user-agent", 500)
          }),
          requestId: Option.match(request, {
            onNone: () => null,
            onSome: (r) => header(r, "x-request-id", 100) ?? randomUUID()
          }),
          traceId: Option.match(span, { onNone: () => null, onSome: (s) => s.traceId })
        })
      }).pipe(Effect.orDie)

    /** The client address of the request being served (as the audit records it), null outside one. */
    const requestIp = Effect.map(
      Effect.serviceOption(HttpServerRequest.HttpServerRequest),
      Option.match({ onNone: () => null, onSome: clientIp })
    )

    const list = Effect.fn("Audit.list")(function* (
      organizationId: OrganizationId,
      request: PageRequest<Omit<AuditQuery, "after" | "limit">>
    ) {
      return yield* listPage(
        request,
        (query) => repository.list(organizationId, query),
        Effect.succeed,
        (entry) => entry.id
      )
    })

    return { record, requestIp, list } as const
  }),
  dependencies: [AuditRepository.Default]
}) {}
