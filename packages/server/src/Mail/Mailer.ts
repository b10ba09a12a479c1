import { randomUUID } from "node:crypto"
import { Effect, Schema } from "effect"
import { SecretBox } from "../Crypto/SecretBox.js"
import { Email, type EmailMessage } from "../Email/Email.js"
import { enqueueJob, Jobs, jobQueue, PermanentJobFailure } from "../Jobs/Jobs.js"
import type { Rendered } from "./MailTemplates.js"

/**
 * A message waiting to be sent. Who, what kind and the subject stay readable (an operator reading the
 * failed jobs sees which mail did not go out); the body is sealed with the encryption keys because it
 * carries links that work as credentials (an invitation's token).
 */
export const emailQueue = jobQueue(
  "email.send",
  Schema.Struct({
    id: Schema.UUID,
    template: Schema.String,
    to: Schema.String,
    subject: Schema.String,
    sealed: Schema.String
  })
)

const Body = Schema.parseJson(Schema.Struct({ text: Schema.String, html: Schema.optional(Schema.String) }))

const associatedData = (id: string) => `email:${id}`

/**
 * Sending mail: `send` enqueues the message (inside a change's transaction it exists only if the change
 * commits), and the `email.send` job delivers it through the configured providers, retried with backoff
 * while they fail transiently and kept among the failed jobs (the dead letter) when they never succeed.
 */
export class Mailer extends Effect.Service<Mailer>()("@tapline/server/Mailer", {
  effect: Effect.gen(function* () {
    const jobs = yield* Jobs
    const secrets = yield* SecretBox

    const send = Effect.fn("Mailer.send")(function* (template: string, to: string, rendered: Rendered) {
      const id = randomUUID()
      const body = Schema.encodeSync(Body)({ text: rendered.text, html: rendered.html })
      yield* Effect.annotateCurrentSpan({ "email.template": template, "email.id": id })
      return yield* enqueueJob(jobs, emailQueue, {
        id,
        template,
        to,
        subject: rendered.subject,
        sealed: secrets.encrypt(body, associatedData(id))
      })
    })

    return { send } as const
  })
}) {}

/** The `email.send` job: opens the body and hands the message to the providers. */
export const deliver = Effect.fn("Mailer.deliver")(function* (job: typeof emailQueue.payload.Type) {
  const secrets = yield* SecretBox
  const email = yield* Email
  const body = yield* secrets.decrypt(job.sealed, associatedData(job.id)).pipe(
    Effect.flatMap(Schema.decode(Body)),
    // A body no configured key opens will not open on a retry either.
    Effect.mapError(
      () => new PermanentJobFailure({ message: "the message body does not decrypt with any configured key" })
    )
  )
  const message: EmailMessage = {
    id: job.id,
    to: job.to,
    subject: job.subject,
    text: body.text,
    ...(body.html === undefined ? {} : { html: body.html })
  }
  yield* email.send(message).pipe(
    Effect.mapError((error) =>
      error.failure === "permanent" ? new PermanentJobFailure({ message: error.message }) : error
    ),
    Effect.tapError((error) =>
      (error._tag === "PermanentJobFailure"
        ? Effect.logError("email refused for good; it stays among the failed jobs and is not retried")
        : Effect.logWarning(
            "email not sent: the job retries it until its attempts run out, then keeps it failed"
          )
      ).pipe(Effect.annotateLogs({ template: job.template, emailId: job.id, error: error.message }))
    )
  )
  yield* Effect.logInfo("email sent").pipe(
    Effect.annotateLogs({ template: job.template, emailId: job.id, provider: email.provider })
  )
})
