import type { ReactNode } from "react"

/**
 * A labelled control with its own error under it. The message is tied to the control (`aria-describedby`,
 * `aria-invalid`), so a screen reader reads it with the field. `children` receives the props to spread on the
 * control.
 */
export const Field = ({
  id,
  label,
  error,
  hint,
  children
}: {
  readonly id: string
  readonly label: ReactNode
  readonly error: string | undefined
  readonly hint?: ReactNode
  readonly children: (control: {
    readonly id: string
    readonly "aria-invalid": boolean
    readonly "aria-describedby": string | undefined
  }) => ReactNode
}) => {
  const described = [hint === undefined ? null : `${id}-hint`, error === undefined ? null : `${id}-error`]
    .filter((s) => s !== null)
    .join(" ")
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error !== undefined, "aria-describedby": described || undefined })}
      {hint !== undefined && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
      {error !== undefined && (
        <small id={`${id}-error`} className="field-error" data-field-error={id}>
          {error}
        </small>
      )}
    </div>
  )
}
