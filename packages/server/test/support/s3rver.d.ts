declare module "@20minutes/s3rver" {
  /** The parts of s3rver's API the storage tests use. */
  export default class S3rver {
    constructor(options: {
      readonly address?: string
      readonly port?: number
      readonly silent?: boolean
      readonly directory?: string
      readonly configureBuckets?: ReadonlyArray<{ readonly name: string }>
    })
    run(): Promise<{ readonly address: string; readonly port: number }>
    close(): Promise<void>
    readonly httpServer: import("node:http").Server
  }
}
