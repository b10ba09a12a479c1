import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { AiApi } from "./AiApi.js"
import { AnalyticsApi } from "./AnalyticsApi.js"
import { AuditApi } from "./AuditApi.js"
import { BandsApi } from "./BandsApi.js"
import { CampaignsApi } from "./CampaignsApi.js"
import { DestinationsApi } from "./DestinationsApi.js"
import { EmailSignInApi } from "./EmailSignInApi.js"
import { EventsApi } from "./EventsApi.js"
import { ExportsApi } from "./ExportsApi.js"
import { HealthApi } from "./HealthApi.js"
import { InfrastructureApi } from "./InfrastructureApi.js"
import { InvitationsApi } from "./InvitationsApi.js"
import { JourneysApi } from "./JourneysApi.js"
import { LiveApi } from "./LiveApi.js"
import { ApiKeysApi, MembersApi } from "./MembersApi.js"
import { OAuthApi, OAuthProvidersApi } from "./OAuthApi.js"
import { OrganizationsApi } from "./OrganizationsApi.js"
import { PasskeysApi } from "./PasskeysApi.js"
import { PushSubscriptionsApi } from "./PushSubscriptionsApi.js"
import { RecapsApi } from "./RecapsApi.js"
import { RegistrantsApi } from "./RegistrantsApi.js"
import { RegistrationSourcesApi } from "./RegistrationSourcesApi.js"
import { ReportsApi } from "./ReportsApi.js"
import { SchemasApi } from "./SchemasApi.js"
import { SessionsApi } from "./SessionsApi.js"
import { SetupApi } from "./SetupApi.js"
import { TagsApi } from "./TagsApi.js"
import { TotpApi } from "./TotpApi.js"
import { UploadsApi } from "./UploadsApi.js"
import { WebhooksApi } from "./WebhooksApi.js"
import { WindowsApi } from "./WindowsApi.js"

/** The whole admin contract; the server implements it, the CLI and the console derive clients from it. */
export class TaplineApi extends HttpApi.make("tapline")
  .add(HealthApi)
  .add(OrganizationsApi)
  .add(MembersApi)
  .add(ApiKeysApi)
  .add(CampaignsApi)
  .add(EventsApi)
  .add(WindowsApi)
  .add(BandsApi)
  .add(TagsApi)
  .add(AnalyticsApi)
  .add(AuditApi)
  .add(ExportsApi)
  .add(UploadsApi)
  .add(WebhooksApi)
  .add(LiveApi)
  .add(InfrastructureApi)
  .add(SessionsApi)
  .add(TotpApi)
  .add(InvitationsApi)
  .add(OAuthApi)
  .add(OAuthProvidersApi)
  .add(PasskeysApi)
  .add(SetupApi)
  .add(EmailSignInApi)
  .add(SchemasApi)
  .add(DestinationsApi)
  .add(RegistrationSourcesApi)
  .add(RegistrantsApi)
  .add(JourneysApi)
  .add(ReportsApi)
  .add(AiApi)
  .add(RecapsApi)
  .add(PushSubscriptionsApi)
  .annotate(OpenApi.Title, "Tapline API")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Admin API of Tapline, the NFC-wristband event platform. Authenticate with `Authorization: Bearer <API key>`; every tenant resource lives under `/api/v1/organizations/{organizationId}`."
  ) {}
