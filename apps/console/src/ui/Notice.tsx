import type { ReactNode } from "react"

export const ErrorNotice = ({ error }: { readonly error: string | null }) =>
  error === null ? null : (
    <p role="alert" className="error">
      {error}
    </p>
  )

export const Loading = ({ what }: { readonly what: string }) => <p role="status">Loading {what}…</p>

/** Shown instead of controls the caller's role may not use. */
export const ReadOnly = ({ children }: { readonly children?: ReactNode }) => (
  <p className="muted">{children ?? "Your role in this organisation reads only."}</p>
)
