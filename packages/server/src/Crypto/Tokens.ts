import { createHash, randomBytes } from "node:crypto"

/**
 * A credential: a prefix naming its kind (`tlk_` API key, `tls_`/`tlr_` session tokens, `tlt_` ticket, `tli_`
 * invitation link), then 32 random bytes. Long enough that a plain SHA-256 (`hashSecret`) is a safe way to
 * store it: every credential Tapline issues is stored as that hash and looked up by it.
 */
export const randomToken = (prefix: string) => `${prefix}${randomBytes(32).toString("base64url")}`

export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest()
