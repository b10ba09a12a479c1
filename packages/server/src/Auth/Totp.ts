import { randomBytes } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Conflict, InvalidRequest, type UserId } from "@tapline/domain"
import { Effect } from "effect"
import { generateSecret, generateURI, verify } from "otplib"
import qrcode from "qrcode-generator"
import { reencryptStale, SecretBox } from "../Crypto/SecretBox.js"
import { hashSecret } from "../Crypto/Tokens.js"

export const BACKUP_CODE_COUNT = 10
const ISSUER = "Tapline"
/** One step either side: a phone clock a little off still works. */
const TOLERANCE_SECONDS = 30

const associatedData = (userId: UserId) => `totp:${userId}`

/** Ten characters from an alphabet without look-alikes, shown as `xxxxx-xxxxx`. */
const backupCode = () => {
  const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
  const bytes = randomBytes(10)
  const chars = Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("")
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}

const normaliseBackupCode = (code: string) => code.trim().toLowerCase().replace(/[\s-]/g, "")

/**
 * TOTP second factor (RFC 6238 through otplib). The seed is stored encrypted by SecretBox. Each accepted
 * code moves `last_step` forward in one conditional UPDATE, so a code (or an older one) is good once even
 * when two requests race. Backup codes are stored as SHA-256 and each is consumed by one UPDATE.
 */
export class Totp extends Effect.Service<Totp>()("@tapline/server/Totp", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const box = yield* SecretBox

    const status = (userId: UserId) =>
      sql<{ confirmed: boolean }>`
        select confirmed_at is not null as confirmed from totp_factors where user_id = ${userId}`.pipe(
        Effect.map((rows): "none" | "pending" | "enabled" =>
          rows[0] === undefined ? "none" : rows[0].confirmed ? "enabled" : "pending"
        )
      )

    /** Starts (or restarts) enrolment: a new seed, not active until a code from it is confirmed. */
    const enrol = (userId: UserId) =>
      Effect.gen(function* () {
        // The authenticator app lists the account under its email.
        const [user] = yield* sql<{ email: string }>`select email from users where id = ${userId}`
        const label = user?.email ?? userId
        if ((yield* status(userId)) === "enabled") {
          return yield* Effect.fail(new Conflict({ message: "TOTP is already enabled; disable it first" }))
        }
        const secret = generateSecret()
        yield* sql`
          insert into totp_factors (user_id, secret) values (${userId}, ${box.encrypt(secret, associatedData(userId))})
          on conflict (user_id) do update set secret = excluded.secret, last_step = 0, created_at = now()`
        const otpauthUri = generateURI({ issuer: ISSUER, label, secret })
        const qr = qrcode(0, "M")
        qr.addData(otpauthUri)
        qr.make()
        return { secret, otpauthUri, qrSvg: qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true }) }
      })

    /** True when the code is right for the current time and newer than every code accepted before. */
    const consumeCode = (userId: UserId, code: string, requireConfirmed: boolean) =>
      Effect.gen(function* () {
        if (!/^\d{6}$/.test(code)) return false
        const [factor] = yield* sql<{ secret: string; lastStep: string; confirmed: boolean }>`
          select secret, last_step, confirmed_at is not null as confirmed from totp_factors where user_id = ${userId}`
        if (factor === undefined || (requireConfirmed && !factor.confirmed)) return false
        const secret = yield* Effect.orDie(box.decrypt(factor.secret, associatedData(userId)))
        const result = yield* Effect.promise(() =>
          verify({
            secret,
            token: code,
            epochTolerance: TOLERANCE_SECONDS,
            afterTimeStep: Number(factor.lastStep)
          })
        )
        if (!result.valid) return false
        const step = (result as { timeStep: number }).timeStep
        const moved = yield* sql`
          update totp_factors set last_step = ${step} where user_id = ${userId} and last_step < ${step}
          returning user_id`
        return moved.length === 1
      })

    const consumeBackupCode = (userId: UserId, code: string) =>
      sql`
        update backup_codes set used_at = now()
        where user_id = ${userId} and code_hash = ${hashSecret(normaliseBackupCode(code))} and used_at is null
        returning user_id`.pipe(Effect.map((rows) => rows.length === 1))

    /** Confirms enrolment with a first code; answers the backup codes, shown this once. */
    const confirm = (userId: UserId, code: string) =>
      Effect.gen(function* () {
        if ((yield* status(userId)) !== "pending") {
          return yield* Effect.fail(
            new InvalidRequest({ message: "no TOTP enrolment is waiting for confirmation" })
          )
        }
        if (!(yield* consumeCode(userId, code, false))) {
          return yield* Effect.fail(
            new InvalidRequest({ message: "the code is not valid for this enrolment" })
          )
        }
        const codes = Array.from({ length: BACKUP_CODE_COUNT }, backupCode)
        yield* sql`update totp_factors set confirmed_at = now() where user_id = ${userId}`
        yield* sql`delete from backup_codes where user_id = ${userId}`
        yield* sql`insert into backup_codes ${sql.insert(
          codes.map((c) => ({ user_id: userId, code_hash: hashSecret(normaliseBackupCode(c)) }))
        )}`
        return codes
      }).pipe(sql.withTransaction)

    /** A second-factor check: a current TOTP code or an unused backup code. */
    const verifySecondFactor = (
      userId: UserId,
      input: { readonly code?: string; readonly backupCode?: string }
    ) =>
      Effect.gen(function* () {
        if (input.code !== undefined) return yield* consumeCode(userId, input.code, true)
        if (input.backupCode !== undefined) return yield* consumeBackupCode(userId, input.backupCode)
        return false
      }).pipe(sql.withTransaction)

    const disable = (userId: UserId) =>
      Effect.gen(function* () {
        yield* sql`delete from backup_codes where user_id = ${userId}`
        yield* sql`delete from totp_factors where user_id = ${userId}`
      }).pipe(sql.withTransaction)

    const remainingBackupCodes = (userId: UserId) =>
      sql<{ count: number }>`
        select count(*)::int as count from backup_codes where user_id = ${userId} and used_at is null`.pipe(
        Effect.map((rows) => rows[0]?.count ?? 0)
      )

    /** Re-encrypts every seed stored under an older key (the rotation command). */
    const reencryptSeeds = Effect.gen(function* () {
      const rows = yield* sql<{ userId: UserId; secret: string }>`select user_id, secret from totp_factors`
      return yield* reencryptStale(
        box,
        rows,
        (row) => ({ stored: row.secret, associatedData: associatedData(row.userId) }),
        (row, stored) => sql`update totp_factors set secret = ${stored}
                             where user_id = ${row.userId} and secret = ${row.secret}`
      )
    })

    return {
      status,
      enrol,
      confirm,
      verifySecondFactor,
      disable,
      remainingBackupCodes,
      reencryptSeeds
    } as const
  })
}) {}
