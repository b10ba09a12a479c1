import { Effect, Layer } from "effect"
import { ChangeHooks } from "../Admin/Changes.js"
import { eventsOfChange } from "./Events.js"
import { WebhookRepository } from "./WebhookRepository.js"

/**
 * The webhooks' subscription to admin changes: each recorded change publishes the events it announces into
 * the outbox, inside the change's own transaction (Changes runs its hooks there).
 */
export const ChangeHooksLive = Layer.effect(
  ChangeHooks,
  Effect.map(WebhookRepository, (repository) => [
    (change: Parameters<ChangeHooks["Type"][number]>[0]) => {
      const organizationId = change.organizationId
      if (organizationId === null) return Effect.void
      return Effect.forEach(
        eventsOfChange(change),
        (event) => repository.publish(organizationId, event.type, event.data),
        { discard: true }
      )
    }
  ])
).pipe(Layer.provide(WebhookRepository.Default))
