import type { OrganizationId } from "@tapline/domain"
import { Effect } from "effect"
import { Jobs } from "../Jobs/Jobs.js"
import { Projector } from "../ReadModel/Projector.js"
import { mapConstraintErrors } from "./Constraints.js"

/**
 * How every admin write runs: the change and its audit entries in one transaction (constraint violations
 * answered as 409/400), then, after the commit, the organisation projected into the hot path's read model
 * within the same request. A projection that fails (Redis down) does not undo the committed change: the
 * read model's version check reports the organisation stale and the watcher rebuilds it.
 */
export class Changes extends Effect.Service<Changes>()("@tapline/server/Changes", {
  effect: Effect.gen(function* () {
    const projector = yield* Projector
    const jobs = yield* Jobs

    /** The transaction of a change: jobs it enqueues exist only if it commits. */
    const transact = <A, E, R>(body: Effect.Effect<A, E, R>) => mapConstraintErrors(jobs.transactional(body))

    const logged = (what: string, effect: Effect.Effect<void, unknown>) =>
      effect.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`read model projection failed: ${what}`, cause))
      )

    const project = (organizationId: OrganizationId) =>
      logged("organization", projector.organization(organizationId))

    const projectBands = (organizationId: OrganizationId, bandUids: ReadonlyArray<string>) =>
      bandUids.length === 0 ? Effect.void : logged("bands", projector.bands(organizationId, bandUids))

    const projectNewBands = (
      organizationId: OrganizationId,
      eventId: string,
      created: ReadonlyArray<{ bandId: string; bandUid: string }>
    ) =>
      created.length === 0
        ? Effect.void
        : logged("new bands", projector.newBands(organizationId, eventId, created))

    return { transact, project, projectBands, projectNewBands } as const
  })
}) {}
