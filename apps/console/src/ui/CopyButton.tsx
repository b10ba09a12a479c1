import { useState } from "react"

/**
 * Copies `text` to the clipboard. Where the browser refuses (no permission, an insecure origin) the text stays
 * on screen to copy by hand, and the button says so.
 */
export const CopyButton = ({ text, label }: { readonly text: string; readonly label: string }) => {
  const [state, setState] = useState<"idle" | "copied" | "refused">("idle")
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setState("copied"),
      () => setState("refused")
    )
  return (
    <button type="button" className="quiet" aria-label={label} onClick={copy}>
      {state === "copied" ? "Copied" : state === "refused" ? "Copy refused: select it" : "Copy"}
    </button>
  )
}
