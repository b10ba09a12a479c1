/*
 * The event lifecycle of DESIGN.md §2 as one rule for the server and the console: the API refuses (409) any
 * move not listed here, and the console offers exactly these moves as buttons.
 */
import type { EventStatus } from "./Event.js"

/** The statuses each status may move to; COMPLETED and CANCELLED are final. */
export const transitions: Readonly<Record<EventStatus, ReadonlyArray<EventStatus>>> = {
  DRAFT: ["ACTIVE", "CANCELLED"],
  ACTIVE: ["COMPLETED", "CANCELLED"],
  COMPLETED: [],
  CANCELLED: []
}

/** The statuses an event in `from` may move to, in the order the console offers them. */
export const nextStates = (from: EventStatus): ReadonlyArray<EventStatus> => transitions[from]

/** Whether an event may move from `from` to `to`; staying where it is is no move. */
export const canTransition = (from: EventStatus, to: EventStatus): boolean => transitions[from].includes(to)
