import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"

/*
 * Issue 15, logs: an ERROR says what failed and what Tapline does about it, so the on-call engineer reading
 * one line knows whether to act. The convention: two clauses separated by "; " (what failed; what happens).
 * Read from the source, so a new ERROR without its second half fails here before it reaches anyone's pager.
 */

const sources = (dir: string): Array<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

describe("ERROR log lines", () => {
  it("each names what failed and what happens next", () => {
    const root = new URL("../src", import.meta.url).pathname
    const messages: Array<{ file: string; message: string }> = []
    for (const file of sources(root)) {
      const text = Fs.readFileSync(file, "utf8")
      // The first string literal after logError( (plain, or the branches of a conditional).
      for (const call of text.matchAll(/logError\(\s*([\s\S]{0,400}?)\)/g)) {
        const literals = [...call[1]!.matchAll(/(["`])((?:(?!\1).)+)\1/g)].map((m) => m[2]!)
        const said = literals.filter((literal) => / /.test(literal))
        for (const message of said) messages.push({ file: Path.relative(root, file), message })
      }
    }
    expect(messages.length).toBeGreaterThan(10)
    expect(messages.filter(({ message }) => !/\S; \S/.test(message))).toEqual([])
  })
})
