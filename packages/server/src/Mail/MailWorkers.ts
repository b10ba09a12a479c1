import { Effect } from "effect"
import { AppConfig } from "../Config/AppConfig.js"
import { SecretBox } from "../Crypto/SecretBox.js"
import { Email } from "../Email/Email.js"
import { Jobs, workQueue } from "../Jobs/Jobs.js"
import * as Workers from "../Jobs/Workers.js"
import { deliver, emailQueue } from "./Mailer.js"

/** Delivers the enqueued mail, retried by EMAIL_RETRY_LIMIT and EMAIL_RETRY_DELAY_SECONDS. */
export const layer = Workers.layer(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const jobs = yield* Jobs
    const email = yield* Email
    const secrets = yield* SecretBox
    yield* workQueue(
      jobs,
      emailQueue,
      {
        retryLimit: config.email.retryLimit,
        retryDelaySeconds: config.email.retryDelaySeconds,
        backoff: true,
        concurrency: 4
      },
      (job) =>
        deliver(job).pipe(Effect.provideService(Email, email), Effect.provideService(SecretBox, secrets))
    )
  })
)
