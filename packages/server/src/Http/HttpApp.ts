import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import { TaplineApi, WorkerApi } from "@tapline/domain"
import { Layer } from "effect"
import { Changes } from "../Admin/Changes.js"
import { AiUsage } from "../AiUsage/AiUsage.js"
import { AiUsageHandlers } from "../AiUsage/AiUsageHandlers.js"
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
import { Destinations } from "../Destinations/Destinations.js"
import { DestinationsHandlers } from "../Destinations/DestinationsHandlers.js"
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
import { Journeys } from "../Journeys/Journeys.js"
import { JourneysHandlers } from "../Journeys/JourneysHandlers.js"
import * as UnsubscribePage from "../Journeys/UnsubscribePage.js"
import { Live } from "../Live/Live.js"
import { LiveHandlers } from "../Live/LiveHandlers.js"
import { Members } from "../Members/Members.js"
import { ApiKeysHandlers, MembersHandlers } from "../Members/MembersHandlers.js"
import { Organizations } from "../Organizations/Organizations.js"
import { OrganizationsHandlers } from "../Organizations/OrganizationsHandlers.js"
import { Quotas } from "../Quotas/Quotas.js"
import { Recaps } from "../Recaps/Recaps.js"
import { RecapsHandlers } from "../Recaps/RecapsHandlers.js"
import { PushSubscriptions } from "../Registrants/PushSubscriptions.js"
import { PushSubscriptionsHandlers } from "../Registrants/PushSubscriptionsHandlers.js"
import { Registrants } from "../Registrants/Registrants.js"
import { RegistrantsHandlers } from "../Registrants/RegistrantsHandlers.js"
import * as RegistrationPage from "../Registrants/RegistrationPage.js"
import { RegistrationSources } from "../Registrations/RegistrationSources.js"
import { RegistrationSourcesHandlers } from "../Registrations/RegistrationSourcesHandlers.js"
import * as ReportKeysRoute from "../Reports/ReportKeysRoute.js"
import { Reports } from "../Reports/Reports.js"
import { ReportsHandlers } from "../Reports/ReportsHandlers.js"
import { Setup } from "../Setup/Setup.js"
import { SetupHandlers } from "../Setup/SetupHandlers.js"
import * as SmsCallbackRoutes from "../SmsCallbacks/CallbackRoutes.js"
import { SchemasHandlers } from "../Streams/SchemasHandlers.js"
import { Tags } from "../Tags/Tags.js"
import { TagsHandlers } from "../Tags/TagsHandlers.js"
import { TapStore } from "../Taps/TapStore.js"
import { Uploads } from "../Uploads/Uploads.js"
import { UploadsHandlers } from "../Uploads/UploadsHandlers.js"
import { UserRepository } from "../Users/UserRepository.js"
import { Users } from "../Users/Users.js"
import { Webhooks } from "../Webhooks/Webhooks.js"
import { WebhooksHandlers } from "../Webhooks/WebhooksHandlers.js"
import { Windows } from "../Windows/Windows.js"
import { WindowsHandlers } from "../Windows/WindowsHandlers.js"
import * as ApiDocsPage from "./ApiDocsPage.js"
import * as BodyGuard from "./BodyGuard.js"
import { callerMistakesAsBadRequest } from "./CallerMistakes.js"
import * as ConsolePages from "./ConsolePages.js"
import { shortDecodeErrors } from "./DecodeErrors.js"
import * as Logos from "./Logos.js"
import * as MetricsRoute from "./MetricsRoute.js"
import { noStore } from "./NoStore.js"
import { measured } from "./RequestMetrics.js"
import { retryAfter } from "./RetryAfter.js"
import * as SetupPage from "./SetupPage.js"
import * as SignInPage from "./SignInPage.js"
import * as StorageLinks from "./StorageLinks.js"

/**
 * The admin API: each feature's handler group (`<Feature>/<Feature>Handlers.ts`), over the services they call.
 */
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
    EmailSignInHandlers,
    SchemasHandlers,
    DestinationsHandlers,
    RegistrationSourcesHandlers,
    RegistrantsHandlers,
    JourneysHandlers,
    ReportsHandlers,
    AiUsageHandlers,
    RecapsHandlers,
    PushSubscriptionsHandlers
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
  // Recaps ask AiUsage (the budget, the usage rows) and Analytics (the tools).
  Layer.provide(Recaps.Default),
  // Features: a repository and a service each, under the handlers.
  Layer.provide([
    Organizations.Default,
    Members.Default,
    ApiKeys.Default,
    Invitations.Default,
    Campaigns.Default,
    Registrants.Default,
    Events.Default,
    Windows.Default,
    Bands.Default,
    Tags.Default,
    Analytics.Default,
    Exports.Default,
    Uploads.Default,
    Webhooks.Default,
    Infrastructure.Default,
    Live.Default,
    Destinations.Default,
    RegistrationSources.Default,
    Journeys.Default,
    Reports.Default,
    AiUsage.Default,
    PushSubscriptions.Default
  ]),
  Layer.provide(Quotas.Default),
  Layer.provide([Users.Default, UserRepository.Default, EventRepository.Default]),
  Layer.provide([
    Auth.Default,
    Sessions.Default,
    Audit.Default,
    Changes.Default,
    ApiKeyRepository.Default,
    TapStore.Default
  ])
)

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
  Layer.provide(UnsubscribePage.layer),
  Layer.provide(RegistrationPage.layer),
  Layer.provide(ReportKeysRoute.layer),
  Layer.provide(SmsCallbackRoutes.layer),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/api/v1/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

/** A worker's HTTP app: the health probes only. */
export const WorkerHttpAppLive = HttpApiBuilder.serve((app) => measured(noStore(app))).pipe(
  Layer.provide(MetricsRoute.layer),
  Layer.provide(BodyGuard.middleware),
  Layer.provide(HttpApiBuilder.api(WorkerApi).pipe(Layer.provide(WorkerHealthHandlers))),
  HttpServer.withLogAddress
)
