import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

/*
 * Issue 15: the Prometheus rules in deploy/ are valid (`promtool check rules`) and fire on the failures they
 * name and not on a healthy pipeline (`promtool test rules`). promtool comes from Debian's package.
 */

const root = fileURLToPath(new URL("../../../", import.meta.url))
const rules = Path.join(root, "deploy/prometheus")

describe("Prometheus alerting rules", () => {
  it("pass promtool's check and their unit tests", () => {
    const promtool = execFileSync(Path.join(root, "scripts/promtool.sh"), { encoding: "utf8" }).trim()
    const check = execFileSync(promtool, ["check", "rules", "tapline-rules.yml"], {
      cwd: rules,
      encoding: "utf8"
    })
    // Every rule in the file, counted from it: a fixed number conflicted with each branch that added one.
    const count = (
      Fs.readFileSync(Path.join(rules, "tapline-rules.yml"), "utf8").match(/^\s*- (alert|record):/gm) ?? []
    ).length
    expect(count).toBeGreaterThanOrEqual(17)
    expect(check).toContain(`SUCCESS: ${count} rules found`)
    const tested = execFileSync(promtool, ["test", "rules", "tapline-rules.test.yml"], {
      cwd: rules,
      encoding: "utf8"
    })
    expect(tested).toContain("SUCCESS")
  }, 180_000)
})
