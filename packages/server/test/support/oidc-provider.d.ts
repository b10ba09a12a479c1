// oidc-provider ships no type declarations; the tests use a small part of it.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http"
  export interface ProviderInstance {
    proxy: boolean
    callback(): (request: IncomingMessage, response: ServerResponse) => void
  }
  const Provider: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance
  export default Provider
}
