import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import S3rver from "@20minutes/s3rver"

export const BUCKET = "tapline-test"

export interface S3Peer {
  readonly endpoint: string
  /** Every request as "METHOD /path?query", to see how an upload was sent. */
  readonly requests: ReadonlyArray<string>
  /** What STORAGE_* says to use this peer. */
  readonly env: Record<string, string>
  readonly close: () => Promise<void>
}

/**
 * An S3 peer on loopback: s3rver verifies SigV4 with the key pair S3RVER/S3RVER, so a signing mistake of ours
 * fails here as it would on AWS.
 */
export const startS3rver = async (): Promise<S3Peer> => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapline-s3rver-"))
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }]
  })
  const { port } = await server.run()
  const requests: Array<string> = []
  server.httpServer.prependListener("request", (request: { method: string; url: string }) => {
    requests.push(`${request.method} ${request.url}`)
  })
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    requests,
    env: {
      STORAGE_PROVIDER: "s3",
      STORAGE_S3_BUCKET: BUCKET,
      STORAGE_S3_ENDPOINT: endpoint,
      STORAGE_S3_FORCE_PATH_STYLE: "true",
      STORAGE_S3_ACCESS_KEY_ID: "S3RVER",
      STORAGE_S3_SECRET_ACCESS_KEY: "S3RVER"
    },
    close: async () => {
      await server.close()
      Fs.rmSync(directory, { recursive: true, force: true })
    }
  }
}
