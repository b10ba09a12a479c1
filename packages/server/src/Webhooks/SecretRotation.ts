import { Effect } from "effect"
import { reencryptStale, SecretBox } from "../Crypto/SecretBox.js"
import { WebhookRepository } from "./WebhookRepository.js"
import { secretData, urlData } from "./Webhooks.js"

const COLUMNS = ["url_sealed", "secret_sealed", "previous_secret_sealed"] as const

/**
 * Re-seals every endpoint URL and signing secret stored under an older key, for `pnpm tapline
 * secrets:rotate`: after it, the older keys can leave TAPLINE_ENCRYPTION_KEYS without breaking a delivery.
 */
export const reencryptWebhookSecrets = Effect.gen(function* () {
  const repository = yield* WebhookRepository
  const box = yield* SecretBox
  const rows = yield* repository.sealedValues
  let rotated = 0
  for (const column of COLUMNS) {
    const sealed = rows.flatMap((row) => {
      const stored =
        column === "url_sealed"
          ? row.urlSealed
          : column === "secret_sealed"
            ? row.secretSealed
            : row.previousSecretSealed
      return stored === null ? [] : [{ id: row.id, organizationId: row.organizationId, stored }]
    })
    rotated += yield* reencryptStale(
      box,
      sealed,
      (row) => ({
        stored: row.stored,
        associatedData: column === "url_sealed" ? urlData(row.organizationId) : secretData(row.organizationId)
      }),
      (row, stored) => repository.reseal(row.id, column, row.stored, stored)
    )
  }
  return rotated
})
