import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from "react"

/*
 * Paths under /console/ are the console's screens; the API serves index.html for all of them, so a reload
 * or a shared link opens the same screen. History entries instead of hashes keep links readable.
 */
export const BASE = "/console"

export const navigate = (to: string) => {
  window.history.pushState(null, "", to)
  window.dispatchEvent(new PopStateEvent("popstate"))
}

/** The current path below /console, as segments: `/console/events/1/live` → ["events", "1", "live"]. */
export const useRoute = (): ReadonlyArray<string> => {
  const [path, setPath] = useState(window.location.pathname)
  useEffect(() => {
    const changed = () => setPath(window.location.pathname)
    window.addEventListener("popstate", changed)
    return () => window.removeEventListener("popstate", changed)
  }, [])
  return path
    .slice(BASE.length)
    .split("/")
    .filter((segment) => segment !== "")
}

/** An ordinary link (open in a new tab works) that changes screens without reloading. */
export const Link = ({ to, ...rest }: { readonly to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) => (
  <a
    {...rest}
    href={to}
    onClick={(event: MouseEvent<HTMLAnchorElement>) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return
      event.preventDefault()
      navigate(to)
    }}
  />
)
