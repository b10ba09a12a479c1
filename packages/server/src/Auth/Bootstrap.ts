import * as SqlClient from "@effect/sql/SqlClient"
import type { Email } from "@tapline/domain"
import { Effect, Option } from "effect"
import { Audit } from "../Audit/Audit.js"
import { Users } from "../Users/Users.js"
import { ApiKeyRepository } from "./ApiKeys.js"

/**
 * Makes `email` a platform ADMIN (creating the user if needed) and issues a personal API key for it. The
 * secret is returned once and never stored. Run by `pnpm tapline admin:bootstrap`, as the system.
 */
export const bootstrapAdmin = (email: Email) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* ApiKeyRepository
    const audit = yield* Audit
    const users = yield* Users
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const user = yield* users.ensure({ email, admin: true })
        const userId = user.id
        const { key, secret } = yield* keys.create({
          organizationId: null,
          userId,
          name: "bootstrap",
          role: null,
          expiresAt: Option.none(),
          createdBy: "system:bootstrap"
        })
        yield* audit.record({
          organizationId: null,
          action: "admin.bootstrap",
          resourceType: "user",
          resourceId: userId,
          newValues: { email, platformRole: "ADMIN", apiKeyId: key.id, userCreated: user.created }
        })
        return { userId, keyId: key.id, secret }
      })
    )
  })
