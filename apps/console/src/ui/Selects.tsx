import { type MemberRole, Roles } from "@tapline/domain"

/** A role picker, least role first. */
export const RoleSelect = ({
  value,
  onChange,
  label = "Role"
}: {
  readonly value: MemberRole
  readonly onChange: (role: MemberRole) => void
  readonly label?: string
}) => (
  <label>
    {label}{" "}
    <select value={value} onChange={(e) => onChange(e.target.value as MemberRole)}>
      {Roles.ordered.map((r) => (
        <option key={r}>{r}</option>
      ))}
    </select>
  </label>
)

/** An event picker; `any` adds a first choice with an empty value (a filter's "all events"). */
export const EventSelect = ({
  label,
  events,
  value,
  onChange,
  any
}: {
  readonly label: string
  readonly events: ReadonlyArray<{ readonly id: string; readonly name: string }>
  readonly value: string
  readonly onChange: (eventId: string) => void
  readonly any?: string
}) => (
  <label>
    {label}{" "}
    <select value={value} onChange={(e) => onChange(e.target.value)}>
      {any !== undefined && <option value="">{any}</option>}
      {events.map((e) => (
        <option key={e.id} value={e.id}>
          {e.name}
        </option>
      ))}
    </select>
  </label>
)
