import { execFileSync } from "node:child_process"
import { createSign, randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type SnsMessage, snsStringToSign } from "../../src/SmsCallbacks/SnsSignature.js"

/** An RSA key and its self-signed certificate, as SNS signs with (made by openssl, as other suites do). */
export interface SigningKey {
  readonly keyPem: string
  readonly certificatePem: string
}

export const makeSigningKey = (): SigningKey => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-sns-"))
  try {
    const key = Path.join(dir, "key.pem")
    const cert = Path.join(dir, "cert.pem")
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=sns.test"
      ],
      { stdio: "ignore" }
    )
    return { keyPem: Fs.readFileSync(key, "utf8"), certificatePem: Fs.readFileSync(cert, "utf8") }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

export type Unsigned = Omit<SnsMessage, "Signature" | "SignatureVersion" | "MessageId" | "Timestamp"> &
  Partial<Pick<SnsMessage, "MessageId" | "Timestamp">>

/** An SNS message signed as SNS documents it (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). */
export const signSns = (key: SigningKey, fields: Unsigned, version: "1" | "2" = "2"): SnsMessage => {
  const message = {
    MessageId: randomUUID(),
    Timestamp: new Date().toISOString(),
    ...fields,
    SignatureVersion: version,
    Signature: ""
  } as SnsMessage
  const signature = createSign(version === "1" ? "RSA-SHA1" : "RSA-SHA256")
    .update(snsStringToSign(message), "utf8")
    .sign(key.keyPem, "base64")
  return { ...message, Signature: signature }
}
