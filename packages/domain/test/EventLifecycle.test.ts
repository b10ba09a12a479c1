import { describe, expect, it } from "@effect/vitest"
import { EventLifecycle, EventStatus } from "@tapline/domain"

describe("event lifecycle", () => {
  // Every pair of statuses: the moves DESIGN.md §2 allows, and none other.
  const allowed = new Set(["DRAFT->ACTIVE", "DRAFT->CANCELLED", "ACTIVE->COMPLETED", "ACTIVE->CANCELLED"])

  for (const from of EventStatus.literals) {
    for (const to of EventStatus.literals) {
      const move = `${from}->${to}`
      it(`${move}: ${allowed.has(move) ? "allowed" : "refused"}`, () => {
        expect(EventLifecycle.canTransition(from, to)).toBe(allowed.has(move))
      })
    }
  }

  it("offers the next states in the order the console shows them; COMPLETED and CANCELLED are final", () => {
    expect(EventLifecycle.nextStates("DRAFT")).toEqual(["ACTIVE", "CANCELLED"])
    expect(EventLifecycle.nextStates("ACTIVE")).toEqual(["COMPLETED", "CANCELLED"])
    expect(EventLifecycle.nextStates("COMPLETED")).toEqual([])
    expect(EventLifecycle.nextStates("CANCELLED")).toEqual([])
  })
})
