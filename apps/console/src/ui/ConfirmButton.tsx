import { type ReactNode, useEffect, useRef, useState } from "react"

/**
 * A button for an irreversible action (go live, cancel, delete, purge, revoke): a click only asks, in a modal
 * dialog that names what will happen; the action runs on the dialog's own button. Escape or "Keep it" leaves
 * everything as it was.
 */
export const ConfirmButton = ({
  label,
  question,
  consequence,
  confirm,
  onConfirm,
  className,
  ariaLabel
}: {
  /** The button's text, e.g. "Delete". */
  readonly label: string
  /** The dialog's heading, e.g. "Delete the webhook to https://…?" */
  readonly question: string
  /** What cannot be undone, in a sentence. */
  readonly consequence: ReactNode
  /** The dialog's action button, e.g. "Delete for good"; defaults to `label`. */
  readonly confirm?: string
  readonly onConfirm: () => void
  readonly className?: string
  readonly ariaLabel?: string
}) => {
  const [open, setOpen] = useState(false)
  const dialog = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    if (open) dialog.current?.showModal()
    else dialog.current?.close()
  }, [open])
  return (
    <>
      <button type="button" className={className} aria-label={ariaLabel} onClick={() => setOpen(true)}>
        {label}
      </button>
      {open && (
        <dialog ref={dialog} className="confirm" aria-label={question} onClose={() => setOpen(false)}>
          <h2>{question}</h2>
          <p>{consequence}</p>
          <div className="actions">
            <button type="button" className="quiet" onClick={() => setOpen(false)}>
              Keep it
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                setOpen(false)
                onConfirm()
              }}
            >
              {confirm ?? label}
            </button>
          </div>
        </dialog>
      )}
    </>
  )
}
