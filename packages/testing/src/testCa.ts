import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export interface TestCertificates {
  /** The CA's certificate (PEM): what a client is told to trust. */
  readonly ca: string
  /** A server certificate for 127.0.0.1 and localhost signed by the CA, and its key (PEM). */
  readonly cert: string
  readonly key: string
}

/**
 * A CA of the test's own and a server certificate it signed, for TLS peers on loopback (an HTTP/2 APNs stand-in,
 * a broker). EC P-256 keys: made by openssl in a few milliseconds, valid for two days, in a temporary folder
 * removed before returning. A client trusting only `ca` fails against any other certificate, so a test also
 * shows the client verifies.
 */
export const makeTestCertificates = (name = "tapline-test"): TestCertificates => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `${name}-tls-`))
  const file = (base: string) => Path.join(dir, base)
  const openssl = (...args: ReadonlyArray<string>) => execFileSync("openssl", args, { stdio: "pipe" })
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  try {
    openssl(
      ...["req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.crt")],
      ...["-days", "2", "-subj", `/CN=${name} CA`],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    )
    openssl(
      "req",
      "-new",
      ...ec,
      "-keyout",
      file("server.key"),
      "-out",
      file("server.csr"),
      "-subj",
      "/CN=127.0.0.1"
    )
    Fs.writeFileSync(
      file("server.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
      ...["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key")],
      ...["-CAcreateserial", "-days", "2", "-out", file("server.crt"), "-extfile", file("server.ext")]
    )
    return {
      ca: Fs.readFileSync(file("ca.crt"), "utf8"),
      cert: Fs.readFileSync(file("server.crt"), "utf8"),
      key: Fs.readFileSync(file("server.key"), "utf8")
    }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
