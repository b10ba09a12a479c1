import * as Path from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import { Console, Effect, Layer, Option } from "effect"
import { AppConfig, isEmbedded, publicOrigin } from "../Config/AppConfig.js"
import { DEMO_SLUG, DemoSeeded, demoBandUid } from "../Demo/DemoSeed.js"
import * as FirstRun from "./FirstRun.js"

export interface BannerInput {
  readonly origin: URL
  readonly tapDomain: string
  readonly setup: Option.Option<FirstRun.SetupNotice>
  readonly demoEventId: Option.Option<string>
  readonly dataDir: Option.Option<string>
}

/** Label and value, the value starting in the same column on every line (README's quick start shows them). */
const line = (label: string, value: string) => `    ${label.padEnd(13)}${value}`

/**
 * The ready banner: plain text with a blank line above and below, never a log line (log collectors would
 * keep the setup link). README's quick start shows the same lines; test/Banner.test.ts holds them together.
 */
export const render = (input: BannerInput): string => {
  const base = input.origin.origin
  const port = input.origin.port === "" ? "" : `:${input.origin.port}`
  const lines = [line("console", `${base}/console/`)]
  if (Option.isSome(input.setup)) {
    const notice = input.setup.value
    lines.push(
      notice.kind === "link"
        ? line("setup link", notice.link)
        : notice.kind === "file"
          ? line("setup link", `in ${notice.file} (owner-only; open it in a browser)`)
          : line("setup link", `cannot write ${notice.file} (${notice.reason}): run pnpm tapline setup:link`)
    )
  }
  if (Option.isSome(input.demoEventId)) {
    const band = demoBandUid(1)
    lines.push(
      line("tap a band", `${input.origin.protocol}//${DEMO_SLUG}.${input.tapDomain}${port}/e?bandId=${band}`),
      line("", `${base}/e?bandId=${band}&eventId=${input.demoEventId.value}`)
    )
  }
  lines.push(line("readiness", `${base}/health/ready`), line("API docs", `${base}/api/v1/docs`))
  if (Option.isSome(input.dataDir)) lines.push(line("data folder", input.dataDir.value))
  return ["", "  Tapline is ready:", ...lines, ""].join("\n")
}

/**
 * Printed only once the HTTP server is bound: a start that fails (the port is taken) must not have said
 * "ready" first. The setup link is made here too, so that it names the address actually served.
 */
export const layer = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* HttpServer.HttpServer
    const config = yield* AppConfig
    const seeded = yield* DemoSeeded
    const origin = publicOrigin(config)
    const setup = yield* FirstRun.prepare(origin)
    yield* Console.log(
      render({
        origin,
        tapDomain: config.server.tapDomain,
        setup,
        demoEventId: Option.map(seeded, (result) => result.eventId),
        dataDir: isEmbedded(config) ? Option.some(Path.resolve(config.embedded.dataDir)) : Option.none()
      })
    )
  })
)
