import { Effect } from "effect"
import { Audit } from "../Audit/Audit.js"
import { UserRepository } from "./UserRepository.js"

/** Users of the platform. Creating one is always audited as `user.create`, whichever way they came in. */
export class Users extends Effect.Service<Users>()("@tapline/server/Users", {
  effect: Effect.gen(function* () {
    const repository = yield* UserRepository
    const audit = yield* Audit

    /**
     * The user with this email, created when there is none; runs in the caller's transaction. `actor` names
     * who acts when nobody is signed in yet (a sign-up acts as the new user).
     */
    const ensure = Effect.fn("Users.ensure")(function* (
      input: { readonly email: string; readonly name?: string; readonly admin?: boolean },
      options: { readonly actorIsNewUser?: boolean } = {}
    ) {
      const user = yield* repository.ensure(input)
      if (user.created) {
        yield* audit.record({
          organizationId: null,
          action: "user.create",
          resourceType: "user",
          resourceId: user.id,
          newValues: { email: input.email },
          ...(options.actorIsNewUser ? { actor: { type: "user" as const, id: user.id } } : {})
        })
      }
      return user
    })

    return { ensure } as const
  }),
  dependencies: [UserRepository.Default]
}) {}
