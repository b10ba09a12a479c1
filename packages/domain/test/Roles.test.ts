import { describe, expect, it } from "@effect/vitest"
import { MemberRole, Roles } from "@tapline/domain"

describe("role order", () => {
  // role, minimum, allowed: the whole table, VIEWER < EDITOR < OWNER.
  const table: ReadonlyArray<readonly [MemberRole, MemberRole, boolean]> = [
    ["VIEWER", "VIEWER", true],
    ["VIEWER", "EDITOR", false],
    ["VIEWER", "OWNER", false],
    ["EDITOR", "VIEWER", true],
    ["EDITOR", "EDITOR", true],
    ["EDITOR", "OWNER", false],
    ["OWNER", "VIEWER", true],
    ["OWNER", "EDITOR", true],
    ["OWNER", "OWNER", true]
  ]
  for (const [role, minimum, allowed] of table) {
    it(`${role} ${allowed ? "holds" : "does not hold"} ${minimum}`, () => {
      expect(Roles.atLeast(role, minimum)).toBe(allowed)
    })
  }

  it("lists every role once, least first, in rank order", () => {
    expect(Roles.ordered).toEqual(["VIEWER", "EDITOR", "OWNER"])
    expect([...Roles.ordered].sort()).toEqual([...MemberRole.literals].sort())
    const ranks = Roles.ordered.map(Roles.roleRank)
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    expect(new Set(ranks).size).toBe(ranks.length)
  })
})
