import { timingSafeEqual } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Duration, Effect, Option, Schema } from "effect"
import { hashSecret } from "../Crypto/Tokens.js"
import { rowsOrDie } from "../Database/Rows.js"

const Taken = Schema.Struct({ email: Schema.String })

/** Wrong codes a mailed code survives; the next attempt, right or wrong, is refused. */
export const CODE_ATTEMPTS = 5

/** The key of an address: one open sign-in per address, however it is capitalised. */
export const emailKey = (email: string) => email.toLowerCase()

/**
 * A six-digit code has only a million values, so its hash is bound to the address: equal codes of two
 * addresses do not share a hash. (A reader of the table can still try the million values of one row; the
 * code lives 10 minutes and the link token beside it is 256 bits.)
 */
const codeHash = (email: string, code: string) => hashSecret(`${emailKey(email)}:${code}`)

/**
 * The only SQL on `email_sign_ins`. Every statement that lets someone in is one conditional UPDATE, so a
 * link or code is taken once even when two requests race.
 */
export class EmailSignInRepository extends Effect.Service<EmailSignInRepository>()(
  "@tapline/server/EmailSignInRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const seconds = (d: Duration.Duration) => Duration.toMillis(d) / 1000

      /** The address's new link and code; whatever it had open stops working. */
      const replace = (row: {
        readonly email: string
        readonly token: string
        readonly code: string
        readonly linkTtl: Duration.Duration
        readonly codeTtl: Duration.Duration
      }) => sql`
        insert into email_sign_ins (email_key, email, token_hash, code_hash, link_expires_at, code_expires_at)
        values (${emailKey(row.email)}, ${row.email}, ${hashSecret(row.token)}, ${codeHash(row.email, row.code)},
          now() + make_interval(secs => ${seconds(row.linkTtl)}),
          now() + make_interval(secs => ${seconds(row.codeTtl)}))
        on conflict (email_key) do update set email = excluded.email, token_hash = excluded.token_hash,
          code_hash = excluded.code_hash, attempts = 0, created_at = now(), used_at = null,
          link_expires_at = excluded.link_expires_at, code_expires_at = excluded.code_expires_at`

      /** The address a live link was sent to, taking the link (and its code) for good. */
      const takeLink = (token: string) =>
        rowsOrDie(
          SqlSchema.findOne({
            Request: Schema.String,
            Result: Taken,
            execute: (token) => sql`
          update email_sign_ins set used_at = now()
          where token_hash = ${hashSecret(token)} and used_at is null and link_expires_at > now()
          returning email`
          })(token)
        ).pipe(Effect.map((row) => Option.getOrUndefined(row)?.email))

      /**
       * Spends one attempt of the address's live code, then takes it if the code is right. The attempt is
       * counted before the comparison, in its own statement, so a wrong guess is never rolled back.
       */
      const takeCode = (email: string, code: string) =>
        Effect.gen(function* () {
          const open = yield* rowsOrDie(
            SqlSchema.findOne({
              Request: Schema.String,
              // bytea: the driver gives a Buffer.
              Result: Schema.Struct({ codeHash: Schema.Uint8ArrayFromSelf }),
              execute: (email) => sql`
            update email_sign_ins set attempts = attempts + 1
            where email_key = ${emailKey(email)} and used_at is null and code_expires_at > now()
              and attempts < ${CODE_ATTEMPTS}
            returning code_hash`
            })(email)
          ).pipe(Effect.map(Option.getOrUndefined))
          if (open === undefined) return { kind: "none" as const }
          const given = codeHash(email, code)
          const stored = Buffer.from(open.codeHash)
          if (stored.length !== given.length || !timingSafeEqual(stored, given))
            return { kind: "wrong" as const }
          const taken = yield* rowsOrDie(
            SqlSchema.findOne({
              Request: Schema.String,
              Result: Taken,
              execute: (email) => sql`
            update email_sign_ins set used_at = now()
            where email_key = ${emailKey(email)} and code_hash = ${given} and used_at is null
            returning email`
            })(email)
          ).pipe(Effect.map(Option.getOrUndefined))
          return taken === undefined
            ? { kind: "none" as const }
            : { kind: "taken" as const, email: taken.email }
        })

      return { replace, takeLink, takeCode } as const
    })
  }
) {}
