import { OrganizationId, type Tag, type TagId } from "@tapline/domain"
import { Option } from "effect"
import { type FormEvent, useState } from "react"
import { call } from "../api.js"
import { can, useSession } from "../session.js"
import { ConfirmButton } from "../ui/ConfirmButton.js"
import { Field } from "../ui/Field.js"
import { ErrorNotice, Loading } from "../ui/Notice.js"
import { useAction } from "../ui/useAction.js"
import { useForm } from "../ui/useForm.js"
import { useLoad } from "../ui/useLoad.js"
import { optional } from "../ui/webAddress.js"

const MESSAGES = {
  name: "Give the tag a name of up to 64 characters.",
  color: "A colour as # and six hex digits, such as #d4af37."
}

type TagView = typeof Tag.json.Type

/** The organisation's band tags (VIP, crew, …): listed for everyone, created, renamed and deleted by an EDITOR. */
export const Tags = () => {
  const session = useSession()
  const organizationId = OrganizationId.make(session.org.id)
  const tags = useLoad(
    () => call((c) => c.tags.list({ path: { organizationId }, urlParams: { limit: 500 } })),
    [organizationId]
  )
  const editor = can(session, "EDITOR")
  const [renaming, setRenaming] = useState<TagView | null>(null)
  const [name, setName] = useState("")
  const [color, setColor] = useState("")
  const form = useForm(MESSAGES)
  const removal = useAction()

  const create = (e: FormEvent) => {
    e.preventDefault()
    const chosen = optional(color)
    form.submit(
      () =>
        call((c) =>
          c.tags.create({
            path: { organizationId },
            payload: { name, ...(chosen === undefined ? {} : { color: chosen }) }
          })
        ),
      () => {
        setName("")
        setColor("")
        tags.reload()
      }
    )
  }

  return (
    <section aria-labelledby="tags-heading">
      <h1 id="tags-heading">Tags</h1>
      <p className="muted">Labels for bands; names are unique in the organisation, whatever their case.</p>
      <ErrorNotice error={tags.error ?? form.error ?? removal.error} />
      {editor && (
        <form onSubmit={create} noValidate aria-label="New tag" className="panel">
          <div className="field-row">
            <Field id="tag-name" label="Name" error={form.fields.name}>
              {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field id="tag-color" label="Colour (optional)" error={form.fields.color}>
              {(control) => (
                <input
                  {...control}
                  placeholder="#d4af37"
                  value={color}
                  onChange={(e) => setColor(e.target.value)}
                />
              )}
            </Field>
          </div>
          <button type="submit">Create tag</button>
        </form>
      )}
      {tags.data === null ? (
        <Loading what="tags" />
      ) : tags.data.items.length === 0 ? (
        <p>No tags yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Colour</th>
              {editor && <th scope="col">Change</th>}
            </tr>
          </thead>
          <tbody>
            {tags.data.items.map((tag) => (
              <tr key={tag.id}>
                <td>{tag.name}</td>
                <td>
                  <Swatch color={Option.getOrNull(tag.color)} />
                </td>
                {editor && (
                  <td>
                    <button
                      type="button"
                      className="quiet"
                      aria-label={`Rename ${tag.name}`}
                      onClick={() => setRenaming(tag)}
                    >
                      Rename
                    </button>{" "}
                    <ConfirmButton
                      label="Delete"
                      className="quiet"
                      ariaLabel={`Delete ${tag.name}`}
                      question={`Delete the tag ${tag.name}?`}
                      consequence="It comes off every band that has it. The audit log keeps a record of the deletion."
                      confirm="Delete tag"
                      onConfirm={() =>
                        removal.run(
                          () => call((c) => c.tags.delete({ path: { organizationId, tagId: tag.id } })),
                          () => tags.reload()
                        )
                      }
                    />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {renaming !== null && (
        <RenameTag
          key={renaming.id}
          organizationId={organizationId}
          tag={renaming}
          onDone={() => {
            setRenaming(null)
            tags.reload()
          }}
        />
      )}
    </section>
  )
}

const Swatch = ({ color }: { readonly color: string | null }) =>
  color === null ? (
    <span className="muted">none</span>
  ) : (
    <span>
      <span className="swatch" style={{ background: color }} aria-hidden="true" /> {color}
    </span>
  )

const RenameTag = ({
  organizationId,
  tag,
  onDone
}: {
  readonly organizationId: OrganizationId
  readonly tag: TagView
  readonly onDone: () => void
}) => {
  const [name, setName] = useState(tag.name)
  const form = useForm(MESSAGES)
  const tagId: TagId = tag.id
  const save = (e: FormEvent) => {
    e.preventDefault()
    form.submit(
      () => call((c) => c.tags.update({ path: { organizationId, tagId }, payload: { name } })),
      onDone
    )
  }
  return (
    <form onSubmit={save} noValidate aria-label={`Rename ${tag.name}`} className="panel">
      <ErrorNotice error={form.error} />
      <Field id="tag-rename-name" label={`New name for ${tag.name}`} error={form.fields.name}>
        {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <button type="submit">Save tag</button>{" "}
      <button type="button" className="quiet" onClick={onDone}>
        Cancel
      </button>
    </form>
  )
}
