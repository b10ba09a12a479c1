import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { TaplineApi } from "@tapline/domain"
import { Effect } from "effect"
import { withRole } from "../Auth/Authorization.js"
import { Reports } from "./Reports.js"

const redirect = (url: string) =>
  HttpServerResponse.redirect(url, { status: 302, headers: { "cache-control": "no-store" } })

/** Roles as for campaigns: VIEWERs read activations and reports, EDITORs change activations and issue reports. */
export const ReportsHandlers = HttpApiBuilder.group(TaplineApi, "reports", (handlers) =>
  Effect.gen(function* () {
    const reports = yield* Reports
    return handlers
      .handle(
        "listActivations",
        withRole("VIEWER", ({ path, urlParams }) => reports.listActivations(path.organizationId, urlParams))
      )
      .handle(
        "createActivation",
        withRole("EDITOR", ({ path, payload }) => reports.createActivation(path.organizationId, payload))
      )
      .handle(
        "getActivation",
        withRole("VIEWER", ({ path }) => reports.getActivation(path.organizationId, path.activationId))
      )
      .handle(
        "updateActivation",
        withRole("EDITOR", ({ path, payload }) =>
          reports.updateActivation(path.organizationId, path.activationId, payload)
        )
      )
      .handle(
        "deleteActivation",
        withRole("EDITOR", ({ path }) => reports.deleteActivation(path.organizationId, path.activationId))
      )
      .handle(
        "issue",
        withRole("EDITOR", ({ path }) => reports.issue(path.organizationId, path.activationId))
      )
      .handle(
        "list",
        withRole("VIEWER", ({ path, urlParams }) =>
          reports.listReports(path.organizationId, path.activationId, urlParams)
        )
      )
      .handle(
        "get",
        withRole("VIEWER", ({ path }) => reports.getReport(path.organizationId, path.reportId))
      )
      .handle(
        "downloadJson",
        withRole("VIEWER", ({ path }) =>
          Effect.map(reports.download(path.organizationId, path.reportId, "json"), redirect)
        )
      )
      .handle(
        "downloadPdf",
        withRole("VIEWER", ({ path }) =>
          Effect.map(reports.download(path.organizationId, path.reportId, "pdf"), redirect)
        )
      )
  })
)
