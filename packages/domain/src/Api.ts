import { HttpApi, OpenApi } from "@effect/platform"
import { HealthApi } from "./HealthApi.js"
import { InfrastructureApi } from "./InfrastructureApi.js"
import { LiveApi } from "./LiveApi.js"

/** The whole admin contract; the server implements it, the CLI and the console derive clients from it. */
export class TaplineApi extends HttpApi.make("tapline")
  .add(HealthApi)
  .add(LiveApi)
  .add(InfrastructureApi)
  .annotate(OpenApi.Title, "Tapline API")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(OpenApi.Description, "Admin API of Tapline, the NFC-wristband event platform.") {}
