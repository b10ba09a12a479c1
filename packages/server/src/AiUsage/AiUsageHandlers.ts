import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { AiUsage } from "./AiUsage.js"

/** Usage is read by any member (it names no person); the budget is money: OWNER only. */
export const AiUsageHandlers = HttpApiBuilder.group(TaplineApi, "ai", (handlers) =>
  Effect.gen(function* () {
    const usage = yield* AiUsage
    return handlers
      .handle(
        "usage",
        withRole("VIEWER", ({ path, urlParams }) => usage.usage(path.organizationId, urlParams.month))
      )
      .handle(
        "setBudget",
        withRole("OWNER", ({ path, payload }) =>
          usage.setBudget(path.organizationId, payload.monthlyBudgetUsd)
        )
      )
  })
)
