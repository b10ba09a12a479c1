import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { TaplineApi, WorkerApi } from "@tapline/domain"
import { Effect, Layer } from "effect"
import { Changes } from "../Admin/Changes.js"
import { dataExceptionError, isDataException } from "../Admin/Constraints.js"
import { Analytics } from "../Analytics/Analytics.js"
import { AnalyticsHandlers } from "../Analytics/AnalyticsHandlers.js"
import { Audit } from "../Audit/Audit.js"
import { AuditHandlers } from "../Audit/AuditHandlers.js"
import { Account } from "../Auth/Account.js"
import { ApiKeyRepository, ApiKeys } from "../Auth/ApiKeys.js"
import { Auth } from "../Auth/Auth.js"
import * as AuthenticationLive from "../Auth/AuthenticationLive.js"
import { AuthRateLimit } from "../Auth/AuthRateLimit.js"
import { EmailSignIn } from "../Auth/EmailSignIn.js"
import { EmailSignInHandlers } from "../Auth/EmailSignInHandlers.js"
import { OAuthHandlers } from "../Auth/OAuthHandlers.js"
import { OAuthProviders } from "../Auth/OAuthProviders.js"
import { OAuthProvidersHandlers } from "../Auth/OAuthProvidersHandlers.js"
import { OAuthSignIn } from "../Auth/OAuthSignIn.js"
import { Passkeys } from "../Auth/Passkeys.js"
import { PasskeysHandlers } from "../Auth/PasskeysHandlers.js"
import { SecondFactor } from "../Auth/SecondFactor.js"
import { Sessions } from "../Auth/Sessions.js"
import { SessionsHandlers } from "../Auth/SessionsHandlers.js"
import { SignIn } from "../Auth/SignIn.js"
import { Totp } from "../Auth/Totp.js"
import { TotpHandlers } from "../Auth/TotpHandlers.js"
import { Bands } from "../Bands/Bands.js"
import { BandsHandlers } from "../Bands/BandsHandlers.js"
import { Campaigns } from "../Campaigns/Campaigns.js"
import { CampaignsHandlers } from "../Campaigns/CampaignsHandlers.js"
import { AppConfig } from "../Config/AppConfig.js"
import { EventRepository } from "../Events/EventRepository.js"
import { Events } from "../Events/Events.js"
import { EventsHandlers } from "../Events/EventsHandlers.js"
import { Exports } from "../Exports/Exports.js"
import { ExportsHandlers } from "../Exports/ExportsHandlers.js"
import { HealthHandlers, WorkerHealthHandlers } from "../Health/HealthHandlers.js"
import { Infrastructure } from "../Infrastructure/Infrastructure.js"
import { InfrastructureHandlers } from "../Infrastructure/InfrastructureHandlers.js"
import { Invitations } from "../Invitations/Invitations.js"
import { InvitationsHandlers } from "../Invitations/InvitationsHandlers.js"
import { Live } from "../Live/Live.js"
import { LiveHandlers } from "../Live/LiveHandlers.js"
import { Members } from "../Members/Members.js"
import { ApiKeysHandlers, MembersHandlers } from "../Members/MembersHandlers.js"
import { Organizations } from "../Organizations/Organizations.js"
import { OrganizationsHandlers } from "../Organizations/OrganizationsHandlers.js"
import { Quotas } from "../Quotas/Quotas.js"
import { HotPath } from "../Redirect/HotPath.js"
import { Setup } from "../Setup/Setup.js"
import { SetupHandlers } from "../Setup/SetupHandlers.js"
import { Tags } from "../Tags/Tags.js"
import { TagsHandlers } from "../Tags/TagsHandlers.js"
import { TapStore } from "../Taps/TapStore.js"
import { Uploads } from "../Uploads/Uploads.js"
import { UploadsHandlers } from "../Uploads/UploadsHandlers.js"
import { UserRepository } from "../Users/UserRepository.js"
import { Users } from "../Users/Users.js"
import * as WebhookOutbox from "../Webhooks/Outbox.js"
import { Webhooks } from "../Webhooks/Webhooks.js"
import { WebhooksHandlers } from "../Webhooks/WebhooksHandlers.js"
import { Windows } from "../Windows/Windows.js"
import { WindowsHandlers } from "../Windows/WindowsHandlers.js"
import * as ApiDocsPage from "./ApiDocsPage.js"
import * as BodyGuard from "./BodyGuard.js"
import * as ConsolePages from "./ConsolePages.js"
import { shortDecodeErrors } from "./DecodeErrors.js"
import * as Listener from "./Listener.js"
import * as Logos from "./Logos.js"
import * as MetricsRoute from "./MetricsRoute.js"
import { noStore } from "./NoStore.js"
import { measured } from "./RequestMetrics.js"
import { retryAfter } from "./RetryAfter.js"
import * as SetupPage from "./SetupPage.js"
import * as SignInPage from "./SignInPage.js"
import * as StorageLinks from "./StorageLinks.js"

export const ApiLive = HttpApiBuilder.api(TaplineApi).pipe(
  Layer.provide([
    HealthHandlers,
    OrganizationsHandlers,
    MembersHandlers,
    ApiKeysHandlers,
    CampaignsHandlers,
    EventsHandlers,
    WindowsHandlers,
    BandsHandlers,
    TagsHandlers,
    AnalyticsHandlers,
    AuditHandlers,
    ExportsHandlers,
    UploadsHandlers,
    WebhooksHandlers,
    LiveHandlers,
    InfrastructureHandlers,
    SessionsHandlers,
    TotpHandlers,
    InvitationsHandlers,
    OAuthHandlers,
    OAuthProvidersHandlers,
    PasskeysHandlers,
    SetupHandlers,
    EmailSignInHandlers
  ]),
  Layer.provide(AuthenticationLive.layer),
  Layer.provide(Setup.Default),
  Layer.provide([
    OAuthSignIn.Default,
    EmailSignIn.Default,
    OAuthProviders.Default,
    Passkeys.Default,
    SecondFactor.Default,
    Account.Default
  ]),
  Layer.provide([SignIn.Default, AuthRateLimit.Default, Totp.Default]),
  // Features: a repository and a service each, under the handlers.
  Layer.provide([
    Organizations.Default,
    Members.Default,
    ApiKeys.Default,
    Invitations.Default,
    Campaigns.Default,
    Events.Default,
    Windows.Default,
    Bands.Default,
    Tags.Default,
    Analytics.Default,
    Exports.Default,
    Uploads.Default,
    Webhooks.Default,
    Infrastructure.Default,
    Live.Default
  ]),
  Layer.provide(Quotas.Default),
  Layer.provide([Users.Default, UserRepository.Default, EventRepository.Default]),
  Layer.provide([
    Auth.Default,
    Sessions.Default,
    Audit.Default,
    Changes.Default.pipe(Layer.provide(WebhookOutbox.ChangeHooksLive)),
    ApiKeyRepository.Default,
    TapStore.Default
  ])
)

/**
 * A body that does not parse as the JSON its content type claims: the platform reads it as a defect (an
 * empty 400); the caller gets the contract's InvalidRequest, which says what was wrong.
 */
const isUnparsableBody = (defect: unknown) =>
  defect instanceof HttpServerError.RequestError && defect.reason === "Decode"

const badRequest = (message: string) =>
  HttpServerResponse.json({ _tag: "InvalidRequest", message }, { status: 400 }).pipe(Effect.orDie)

/**
 * Input PostgreSQL refuses as data (SQLSTATE class 22) on a read path is still the caller's mistake: 400,
 * not the 500 a defect would become; so is a body that is not JSON. Every other defect stays a 500. It is an
 * API-level middleware because only there does it run before errors become responses (a middleware given to
 * `serve` sees them after).
 */
const callerMistakesAsBadRequest = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.catchAllDefect(app, (defect) => {
    if (isDataException(defect)) return badRequest(dataExceptionError.message)
    if (isUnparsableBody(defect)) return badRequest("the request body is not valid JSON")
    return Effect.die(defect)
  })

/** The admin API with its OpenAPI document and docs page, as an HttpServer app. */
export const HttpAppLive = HttpApiBuilder.serve((app) =>
  measured(retryAfter(noStore(HttpMiddleware.logger(app))))
).pipe(
  Layer.provide(MetricsRoute.layer),
  Layer.provide(HttpApiBuilder.middleware(callerMistakesAsBadRequest)),
  Layer.provide(BodyGuard.middleware),
  Layer.provide(HttpApiBuilder.middleware(shortDecodeErrors)),
  Layer.provide(ApiDocsPage.layer),
  Layer.provide(SignInPage.layer),
  Layer.provide(SetupPage.layer),
  Layer.provide(ConsolePages.layer),
  Layer.provide(StorageLinks.layer),
  Layer.provide(Logos.layer),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/api/v1/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

/** True for `/e` and `/e?…`: the redirect, which never enters Effect's HTTP stack. */
const isHotPath = (url: string | undefined) => url !== undefined && /^\/e(\?|$)/.test(url)

type HotPathHandler = (request: IncomingMessage, response: ServerResponse) => void

const nodeServer = (hotPath: HotPathHandler | undefined) =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (config) => {
      const limits = BodyGuard.bodyLimits(config)
      const node = createServer({ keepAliveTimeout: 5_000 })
      // Every response is tracked so a stop can end each connection once answered (see Listener.track).
      const tracked = Listener.track(node)
      const emit = node.emit.bind(node) as (event: string, ...args: Array<unknown>) => boolean
      node.emit = ((event: string, ...args: Array<unknown>) => {
        if (event === "request") {
          const [request, response] = args as [IncomingMessage, ServerResponse]
          tracked.onRequest(request, response)
          if (BodyGuard.screen(limits, request, response)) return true
          if (hotPath !== undefined && isHotPath(request.url)) {
            // The redirect never reads a body: one sent anyway stays unread.
            BodyGuard.capRest(request, response)
            hotPath(request, response)
            return true
          }
        }
        return emit(event, ...args)
      }) as typeof node.emit
      // `Expect: 100-continue`: a body declared too large is refused without a 100 inviting it.
      node.on("checkContinue", (request: IncomingMessage, response: ServerResponse) => {
        if (BodyGuard.screen(limits, request, response)) return
        response.writeContinue()
        node.emit("request", request, response)
      })
      return Layer.merge(
        NodeHttpServer.layer(() => node, { port: config.server.port, host: config.server.host }),
        Layer.succeed(Listener.Listener, tracked.listener)
      )
    })
  )

/** Node's HTTP server on HOST:PORT for an Effect HTTP app; closing it waits for in-flight requests. */
export const NodeServerLive = nodeServer(undefined)

/**
 * The same server with the redirect mounted: requests for /e go straight to the hot-path handler; everything
 * else is emitted to the Effect HTTP app that NodeHttpServer attaches. Intercepting `emit` keeps one server
 * and one port without routing every tap through the per-request machinery STACK.md measured at 4-5x the
 * cost of a bare server.
 */
export const NodeServerWithHotPathLive = Layer.unwrapEffect(
  Effect.map(HotPath, (handler) => nodeServer(handler))
)

/** A worker's HTTP app: the health probes only. */
export const WorkerHttpAppLive = HttpApiBuilder.serve((app) => measured(noStore(app))).pipe(
  Layer.provide(MetricsRoute.layer),
  Layer.provide(BodyGuard.middleware),
  Layer.provide(HttpApiBuilder.api(WorkerApi).pipe(Layer.provide(WorkerHealthHandlers))),
  HttpServer.withLogAddress
)
