import type { TagId } from "@tapline/domain"
import { useState } from "react"

/** A band's tags: a disclosure with a checkbox per tag of the organisation, saved together. */
export const TagPicker = ({
  label,
  all,
  chosen,
  onSave
}: {
  readonly label: string
  readonly all: ReadonlyArray<{ readonly id: TagId; readonly name: string }>
  readonly chosen: ReadonlyArray<TagId>
  readonly onSave: (tagIds: ReadonlyArray<TagId>) => void
}) => {
  const [picked, setPicked] = useState<ReadonlySet<TagId>>(() => new Set(chosen))
  const names = all.filter((t) => chosen.includes(t.id)).map((t) => t.name)
  return (
    <details>
      <summary aria-label={`Tags of ${label}`}>{names.length === 0 ? "No tags" : names.join(", ")}</summary>
      {all.map((t) => (
        <label key={t.id} className="block">
          <input
            type="checkbox"
            checked={picked.has(t.id)}
            onChange={(e) => {
              const next = new Set(picked)
              if (e.target.checked) next.add(t.id)
              else next.delete(t.id)
              setPicked(next)
            }}
          />{" "}
          {t.name}
        </label>
      ))}
      <button type="button" onClick={() => onSave([...picked])}>
        Save tags
      </button>
    </details>
  )
}
