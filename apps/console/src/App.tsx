import { OrganizationId } from "@tapline/domain"
import { lazy, Suspense, useCallback, useEffect, useState } from "react"
import { call, describe, tagOf } from "./api.js"
import { BASE, Link, navigate, useRoute } from "./router.js"
import { Audit } from "./screens/Audit.js"
import { Bands } from "./screens/Bands.js"
import { EventDetail } from "./screens/EventDetail.js"
import { Events } from "./screens/Events.js"
import { Exports } from "./screens/Exports.js"
import { Team } from "./screens/Team.js"
import { Webhooks } from "./screens/Webhooks.js"
import { can, type Me, type Org, roleIn, type Session, SessionProvider } from "./session.js"
import { ErrorNotice, Loading } from "./ui/Notice.js"
import { type AiAvailability, useAiAvailability } from "./ui/useAi.js"

// The charting screens load their code (and uPlot) when first opened: the first load stays small for phones.
const Analytics = lazy(() => import("./screens/Analytics.js").then((m) => ({ default: m.Analytics })))
const Live = lazy(() => import("./screens/Live.js").then((m) => ({ default: m.Live })))
// The organisation's housekeeping screens are opened now and then: they load when first opened too.
const Campaigns = lazy(() => import("./screens/Campaigns.js").then((m) => ({ default: m.Campaigns })))
const Tags = lazy(() => import("./screens/Tags.js").then((m) => ({ default: m.Tags })))
const Trash = lazy(() => import("./screens/Trash.js").then((m) => ({ default: m.Trash })))
const Settings = lazy(() =>
  import("./screens/OrganisationSettings.js").then((m) => ({ default: m.OrganisationSettings }))
)
const Destinations = lazy(() =>
  import("./screens/Destinations.js").then((m) => ({ default: m.Destinations }))
)
// Attendees and journeys (issue 33): opened now and then, loaded when first opened.
const Attendees = lazy(() => import("./screens/Attendees.js").then((m) => ({ default: m.Attendees })))
const AttendeeDetail = lazy(() =>
  import("./screens/AttendeeDetail.js").then((m) => ({ default: m.AttendeeDetail }))
)
const Journeys = lazy(() => import("./screens/Journeys.js").then((m) => ({ default: m.Journeys })))
const JourneyEdit = lazy(() => import("./screens/JourneyEdit.js").then((m) => ({ default: m.JourneyEdit })))
const Deliveries = lazy(() => import("./screens/Deliveries.js").then((m) => ({ default: m.Deliveries })))
// Activations and signed reports (issue 35): opened now and then, loaded when first opened.
const Activations = lazy(() => import("./screens/Activations.js").then((m) => ({ default: m.Activations })))
// AI recaps (issue 35): only where the server has a language model, loaded when first opened.
const Recaps = lazy(() => import("./screens/Recaps.js").then((m) => ({ default: m.Recaps })))
const RecapDetail = lazy(() => import("./screens/RecapDetail.js").then((m) => ({ default: m.RecapDetail })))
const NewOrganisation = lazy(() =>
  import("./screens/NewOrganisation.js").then((m) => ({ default: m.NewOrganisation }))
)

const ORG_KEY = "tapline.console.organization"

const SCREENS = [
  { path: "events", label: "Events", role: "VIEWER" },
  { path: "bands", label: "Bands", role: "VIEWER" },
  { path: "analytics", label: "Analytics", role: "VIEWER" },
  { path: "exports", label: "Exports", role: "VIEWER" },
  { path: "campaigns", label: "Campaigns", role: "VIEWER" },
  { path: "activations", label: "Activations", role: "VIEWER" },
  { path: "recaps", label: "Recaps", role: "VIEWER", ai: true },
  { path: "attendees", label: "Attendees", role: "EDITOR" },
  { path: "journeys", label: "Journeys", role: "VIEWER" },
  { path: "deliveries", label: "Deliveries", role: "EDITOR" },
  { path: "tags", label: "Tags", role: "VIEWER" },
  { path: "team", label: "Team", role: "VIEWER" },
  { path: "webhooks", label: "Webhooks", role: "OWNER" },
  { path: "destinations", label: "Destinations", role: "OWNER" },
  { path: "audit", label: "Audit log", role: "OWNER" },
  { path: "trash", label: "Trash", role: "VIEWER" },
  { path: "settings", label: "Settings", role: "VIEWER" }
] as const

const Screen = ({
  route,
  ai,
  onOrganisationChanged
}: {
  readonly route: ReadonlyArray<string>
  readonly ai: AiAvailability
  readonly onOrganisationChanged: () => void
}) => {
  const [first = "events", id, sub] = route
  if (first === "recaps" && ai === "unknown") return <Loading what="the screen" />
  if (first === "recaps" && ai === "unavailable") return <p>Recaps are not set up on this server.</p>
  if (first === "recaps" && id !== undefined) return <RecapDetail recapId={id} />
  if (first === "recaps") return <Recaps />
  if (first === "events" && id !== undefined && sub === "live") return <Live eventId={id} />
  if (first === "events" && id !== undefined) return <EventDetail eventId={id} />
  if (first === "bands") return <Bands />
  if (first === "analytics") return <Analytics />
  if (first === "exports") return <Exports />
  if (first === "team") return <Team />
  if (first === "webhooks") return <Webhooks />
  if (first === "destinations") return <Destinations />
  if (first === "audit") return <Audit />
  if (first === "campaigns") return <Campaigns />
  if (first === "activations") return <Activations />
  if (first === "attendees" && id !== undefined) return <AttendeeDetail registrantId={id} />
  if (first === "attendees") return <Attendees />
  if (first === "journeys" && id !== undefined) return <JourneyEdit journeyId={id} />
  if (first === "journeys") return <Journeys />
  if (first === "deliveries") return <Deliveries />
  if (first === "tags") return <Tags />
  if (first === "trash") return <Trash />
  if (first === "settings") return <Settings onChanged={onOrganisationChanged} />
  return <Events />
}

const SignedOut = () => (
  <main className="narrow">
    <h1>Tapline</h1>
    <p>You are signed out.</p>
    <p>
      <a className="button" href="/sign-in">
        Sign in
      </a>
    </p>
  </main>
)

export const App = () => {
  const [me, setMe] = useState<Me | "signed-out" | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [orgs, setOrgs] = useState<ReadonlyArray<Org>>([])
  const [orgId, setOrgId] = useState<string | null>(() => window.localStorage.getItem(ORG_KEY))
  const route = useRoute()
  // Asked for the organisation shown, once the list says the user is in it (a stored choice may be stale).
  const ai = useAiAvailability(orgs.some((o) => o.id === orgId) ? orgId : null)

  /** The user and their organisations, again after a change to either; `switchTo` selects one of them. */
  const load = useCallback((switchTo?: string) => {
    call((client) => client.sessions.me())
      .then(async (found) => {
        setMe(found)
        const page = await call((client) => client.organizations.list({ urlParams: { limit: 500 } }))
        setOrgs(page.items)
        setOrgId((current) => {
          const wanted = switchTo ?? current
          return wanted !== null && page.items.some((o) => o.id === wanted)
            ? wanted
            : (page.items[0]?.id ?? null)
        })
      })
      .catch((failure: unknown) =>
        tagOf(failure) === "Unauthorized" ? setMe("signed-out") : setError(describe(failure))
      )
  }, [])

  useEffect(() => load(), [load])

  useEffect(() => {
    if (orgId !== null) window.localStorage.setItem(ORG_KEY, orgId)
  }, [orgId])

  if (error !== null) return <ErrorNotice error={error} />
  if (me === null) return <Loading what="the console" />
  if (me === "signed-out") return <SignedOut />
  const org = orgs.find((o) => o.id === orgId)
  const session: Session | null = org === undefined ? null : { me, org, role: roleIn(me, org.id) }

  const signOut = () =>
    call((client) => client.sessions.signOut()).finally(() => window.location.assign(`${BASE}/`))

  return (
    <>
      <header>
        <strong>Tapline</strong>
        {orgs.length > 0 && (
          <label>
            Organisation{" "}
            <select value={orgId ?? ""} onChange={(e) => setOrgId(OrganizationId.make(e.target.value))}>
              {orgs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <Link className="new-organisation" to={`${BASE}/organisations/new`}>
          New organisation
        </Link>
        <span className="who">
          {me.email} {session !== null && <span className="role">({session.role})</span>}
        </span>
        <button type="button" className="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      {route[0] === "organisations" && route[1] === "new" ? (
        <main>
          <Suspense fallback={<Loading what="the screen" />}>
            <NewOrganisation
              onCreated={(id) => {
                load(id)
                navigate(`${BASE}/events`)
              }}
            />
          </Suspense>
        </main>
      ) : session === null ? (
        <main>
          <p>You are not a member of any organisation yet. Ask an owner for an invitation, or</p>
          <p>
            <Link className="button" to={`${BASE}/organisations/new`}>
              Create an organisation
            </Link>
          </p>
        </main>
      ) : (
        <SessionProvider value={session}>
          {/* data-ai: whether the server has a language model, once it has said (the Recaps entry follows it). */}
          <nav aria-label="Console" data-ai={ai}>
            <ul>
              {SCREENS.filter((s) => can(session, s.role) && (!("ai" in s) || ai === "available")).map(
                (s) => (
                  <li key={s.path}>
                    <Link
                      to={`${BASE}/${s.path}`}
                      aria-current={(route[0] ?? "events") === s.path ? "page" : undefined}
                    >
                      {s.label}
                    </Link>
                  </li>
                )
              )}
            </ul>
          </nav>
          <main key={session.org.id}>
            <Suspense fallback={<Loading what="the screen" />}>
              <Screen route={route} ai={ai} onOrganisationChanged={() => load()} />
            </Suspense>
          </main>
        </SessionProvider>
      )}
    </>
  )
}
