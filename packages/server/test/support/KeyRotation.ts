import { randomBytes } from "node:crypto"
import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../../src/Config/AppConfig.js"
import * as SecretBox from "../../src/Crypto/SecretBox.js"

/**
 * For rotation tests: the running server's keys (`current`), a new key 2 to rotate to (`next`), and `overKeys`,
 * which runs an effect with `layer` built over a SecretBox holding exactly the keys given.
 */
export const keyRotation = <A, R>(layer: Layer.Layer<A, never, R | SecretBox.SecretBox>) =>
  Effect.gen(function* () {
    const { auth } = yield* AppConfig
    const current = SecretBox.parseKeys(Redacted.value(Option.getOrThrow(auth.encryptionKeys)))
    if (current instanceof SecretBox.SecretBoxError) throw current
    const next: SecretBox.EncryptionKey = { id: 2, key: randomBytes(32) }
    const overKeys = (keys: ReadonlyArray<SecretBox.EncryptionKey>) =>
      Effect.provide(layer.pipe(Layer.provide(Layer.succeed(SecretBox.SecretBox, SecretBox.make(keys)))))
    return { current, next, overKeys }
  })
