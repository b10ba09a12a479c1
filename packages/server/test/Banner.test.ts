import * as Fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { render } from "../src/Setup/Banner.js"

/*
 * The ready banner and README's quick start show the same lines (issue 29 item 5): README's block is the
 * banner of a first embedded start, with `…` where a run's own values go (the token, the event id, the
 * data folder's path).
 */

const readmeBlock = () => {
  const readme = Fs.readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
  const block = /```\n( {2}Tapline is ready:\n[\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error("README has no block starting '  Tapline is ready:'")
  return block.trimEnd().split("\n")
}

/** A README line as a pattern: `…` stands for any text without blanks. */
const pattern = (line: string) =>
  new RegExp(
    `^${line
      .split("…")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("\\S+")}$`
  )

describe("the ready banner", () => {
  it("is README's quick start block, line by line, with a blank line above and below", () => {
    const banner = render({
      origin: new URL("http://localhost:3000"),
      tapDomain: "localhost",
      setup: Option.some({
        kind: "link",
        link: "http://localhost:3000/setup#token=tsu_Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE"
      }),
      demoEventId: Option.some("019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b"),
      dataDir: Option.some("/home/ana/tapline/.tapline")
    })
    expect(banner.startsWith("\n")).toBe(true)
    expect(banner.endsWith("\n")).toBe(true)
    const lines = banner.split("\n").slice(1, -1)
    const readme = readmeBlock()
    expect(lines.map((line) => line.slice(0, 17))).toEqual(readme.map((line) => line.slice(0, 17)))
    for (const [i, line] of lines.entries()) expect(line).toMatch(pattern(readme[i]!))
  })

  it("off the embedded database names the setup link's file, and shows no demo or data folder lines", () => {
    const banner = render({
      origin: new URL("https://tapline.acme.example"),
      tapDomain: "tap.acme.example",
      setup: Option.some({ kind: "file", file: "/srv/tapline/.tapline/setup-link" }),
      demoEventId: Option.none(),
      dataDir: Option.none()
    })
    expect(banner.split("\n")).toEqual([
      "",
      "  Tapline is ready:",
      "    console      https://tapline.acme.example/console/",
      "    setup link   in /srv/tapline/.tapline/setup-link (owner-only; open it in a browser)",
      "    readiness    https://tapline.acme.example/health/ready",
      "    API docs     https://tapline.acme.example/api/v1/docs",
      ""
    ])
  })
})
