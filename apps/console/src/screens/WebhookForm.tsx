import { WebhookEventType } from "@tapline/domain"
import { Field } from "../ui/Field.js"
import type { FieldErrors } from "../ui/useForm.js"

const EVENT_TYPES = WebhookEventType.literals

/** What the endpoint forms say for each refused field (create and edit share them). */
export const WEBHOOK_MESSAGES = {
  url:
    "The receiver's full address, starting with https:// (or http://), on the public internet: private and " +
    "local network addresses are refused.",
  description: "A description of at most 500 characters.",
  eventTypes: "Choose at least one event to send (a chat channel cannot receive tap.created)."
} as const

export interface WebhookValues {
  readonly url: string
  readonly description: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
}

/** The URL, description and events of an endpoint, each with its own error; ids start with `prefix`. */
export const WebhookFields = ({
  prefix,
  values,
  onChange,
  fields,
  urlHint
}: {
  readonly prefix: string
  readonly values: WebhookValues
  readonly onChange: (values: WebhookValues) => void
  readonly fields: FieldErrors
  readonly urlHint?: string
}) => (
  <>
    <Field
      id={`${prefix}-url`}
      label="URL"
      error={fields.url}
      {...(urlHint === undefined ? {} : { hint: urlHint })}
    >
      {(control) => (
        <input
          {...control}
          type="url"
          inputMode="url"
          value={values.url}
          onChange={(e) => onChange({ ...values, url: e.target.value })}
        />
      )}
    </Field>
    <Field id={`${prefix}-description`} label="Description (optional)" error={fields.description}>
      {(control) => (
        <input
          {...control}
          value={values.description}
          onChange={(e) => onChange({ ...values, description: e.target.value })}
        />
      )}
    </Field>
    <Field id={`${prefix}-events`} label="Send" error={fields.eventTypes}>
      {(control) => (
        <fieldset {...control} aria-label="Send" className="checks">
          {EVENT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={values.eventTypes.includes(t)}
                onChange={(e) =>
                  onChange({
                    ...values,
                    eventTypes: e.target.checked
                      ? [...values.eventTypes, t]
                      : values.eventTypes.filter((x) => x !== t)
                  })
                }
              />{" "}
              {t}
            </label>
          ))}
        </fieldset>
      )}
    </Field>
  </>
)
