import * as Crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { runCliInProcess } from "./support/CliInProcess.js"

/*
 * `tapline push:vapid-keys` (issue 34): a fresh VAPID pair as the two environment lines an operator pastes. The
 * pair must be one P-256 key pair in the encodings Web Push uses (the public key the uncompressed point, the
 * private key its 32-byte scalar, both base64url), and a new one on every run.
 */
describe("pnpm tapline push:vapid-keys", () => {
  const keysOf = (output: string) => ({
    publicKey: /^PUSH_VAPID_PUBLIC_KEY=([A-Za-z0-9_-]+)$/m.exec(output)?.[1] ?? "",
    privateKey: /^PUSH_VAPID_PRIVATE_KEY=([A-Za-z0-9_-]+)$/m.exec(output)?.[1] ?? ""
  })

  it("prints a P-256 key pair as PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY lines, new on every run", async () => {
    const first = await runCliInProcess(["push:vapid-keys"], {})
    expect(first.code).toBe(0)
    const keys = keysOf(first.output)
    const publicKey = Buffer.from(keys.publicKey, "base64url")
    const privateKey = Buffer.from(keys.privateKey, "base64url")
    expect([publicKey.length, publicKey[0], privateKey.length]).toEqual([65, 0x04, 32])
    // The public key is the private key's: the pair belongs together.
    const ecdh = Crypto.createECDH("prime256v1")
    ecdh.setPrivateKey(privateKey)
    expect(ecdh.getPublicKey().equals(publicKey)).toBe(true)

    const second = keysOf((await runCliInProcess(["push:vapid-keys"], {})).output)
    expect(second.privateKey).not.toBe(keys.privateKey)
    expect(second.publicKey).not.toBe(keys.publicKey)
  })
})
