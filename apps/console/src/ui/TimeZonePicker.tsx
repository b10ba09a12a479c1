import { type KeyboardEvent, useEffect, useMemo, useState } from "react"

/** The zones the browser knows (about 420), read once. */
let zones: ReadonlyArray<string> | null = null
const allZones = () => {
  zones ??= Intl.supportedValuesOf("timeZone")
  return zones
}

/** At most this many matches are listed: typing narrows them, and the list stays short to read and to draw. */
const SHOWN = 50

/** "new y" and "new_y" both find America/New_York: people type spaces where zones have underscores. */
const matches = (typed: string) => {
  const wanted = typed.trim().toLowerCase().replaceAll(" ", "_")
  return allZones()
    .filter((zone) => zone.toLowerCase().includes(wanted))
    .slice(0, SHOWN)
}

/**
 * A searchable time zone (the ARIA combobox pattern, no library): typing filters the IANA zones, the arrows
 * move through the matches, Enter picks one, Escape closes the list. The value is the text, so a zone the list
 * does not have can still be typed; the API refuses it and the form says so next to the field.
 */
export const TimeZonePicker = ({
  value,
  onChange,
  ...control
}: {
  readonly id: string
  readonly value: string
  readonly onChange: (zone: string) => void
  readonly "aria-invalid": boolean
  readonly "aria-describedby": string | undefined
}) => {
  const [open, setOpen] = useState(false)
  const [active, setActive] = useState(-1)
  const options = useMemo(() => (open ? matches(value) : []), [open, value])
  const listId = `${control.id}-list`
  const optionId = (index: number) => `${control.id}-option-${index}`
  const expanded = open && options.length > 0
  // The highlighted zone stays in sight as the arrows move through a list taller than its box.
  useEffect(() => {
    if (active >= 0) document.getElementById(optionId(active))?.scrollIntoView({ block: "nearest" })
  })

  const pick = (zone: string) => {
    onChange(zone)
    setOpen(false)
    setActive(-1)
  }
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault()
      if (!open) setOpen(true)
      const step = event.key === "ArrowDown" ? 1 : -1
      setActive((current) => (options.length === 0 ? -1 : (current + step + options.length) % options.length))
    } else if (event.key === "Enter" && expanded && active >= 0) {
      // Enter picks the highlighted zone; it does not submit the form.
      event.preventDefault()
      pick(options[active]!)
    } else if (event.key === "Escape" && open) {
      event.preventDefault()
      setOpen(false)
      setActive(-1)
    }
  }

  return (
    <div className="combobox">
      <input
        {...control}
        type="text"
        role="combobox"
        autoComplete="off"
        spellCheck={false}
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
        value={value}
        onChange={(event) => {
          onChange(event.target.value)
          setOpen(true)
          setActive(-1)
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <div id={listId} role="listbox" aria-label="Zones matching what you typed" hidden={!expanded}>
        {options.map((zone, index) => (
          <div
            key={zone}
            // Focus stays in the input (aria-activedescendant): options are reached by the arrows, not Tab.
            tabIndex={-1}
            id={optionId(index)}
            role="option"
            aria-selected={index === active}
            // mousedown, not click: the input's blur would close the list before a click lands.
            onMouseDown={(event) => {
              event.preventDefault()
              pick(zone)
            }}
          >
            {zone}
          </div>
        ))}
      </div>
    </div>
  )
}
