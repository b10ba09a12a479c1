import * as Migrator from "@effect/sql/Migrator"
import initial from "./0001_initial.js"
import readModelVersions from "./0002_read_model_versions.js"
import apiKeys from "./0003_api_keys.js"
import retention from "./0004_retention.js"
import rollupDirty from "./0005_rollup_dirty.js"
import exportsTable from "./0006_exports.js"
import identity from "./0007_identity.js"
import serializedUrls from "./0008_serialized_urls.js"
import tapDeadLetters from "./0009_tap_dead_letters.js"
import exportObjects from "./0010_export_objects.js"
import uploads from "./0011_uploads.js"
import webhooks from "./0012_webhooks.js"
import auditRedactSealed from "./0013_audit_redact_sealed.js"
import trashPurge from "./0014_trash_purge.js"
import outboundRefusalsScrubbed from "./0015_outbound_refusals_scrubbed.js"
import device from "./0016_device.js"
import setupTokens from "./0017_setup_tokens.js"
import emailSignIns from "./0018_email_sign_ins.js"
import oauthProviderErrors from "./0019_oauth_provider_errors.js"
import brokerDestinations from "./0020_broker_destinations.js"
import registrationSources from "./0021_registration_sources.js"
import registrants from "./0022_registrants.js"
import journeys from "./0023_journeys.js"
import registrationPage from "./0024_registration_page.js"
import journeyTriggerMarks from "./0025_journey_trigger_marks.js"
import smsPush from "./0026_sms_push.js"
import smsCallbacks from "./0027_sms_callbacks.js"
import reports from "./0028_reports.js"
import aiUsage from "./0029_ai_usage.js"
import uuidV7Monotonic from "./0030_uuid_v7_monotonic.js"
import recaps from "./0031_recaps.js"

/** Every migration, in order. Keys must look like `0001_name`: the loader skips anything else silently. */
export const migrations = {
  "0001_initial": initial,
  "0002_read_model_versions": readModelVersions,
  "0003_api_keys": apiKeys,
  "0004_retention": retention,
  "0005_rollup_dirty": rollupDirty,
  "0006_exports": exportsTable,
  "0007_identity": identity,
  "0008_serialized_urls": serializedUrls,
  "0009_tap_dead_letters": tapDeadLetters,
  "0010_export_objects": exportObjects,
  "0011_uploads": uploads,
  "0012_webhooks": webhooks,
  "0013_audit_redact_sealed": auditRedactSealed,
  "0014_trash_purge": trashPurge,
  "0015_outbound_refusals_scrubbed": outboundRefusalsScrubbed,
  "0016_device": device,
  "0017_setup_tokens": setupTokens,
  "0018_email_sign_ins": emailSignIns,
  "0019_oauth_provider_errors": oauthProviderErrors,
  "0020_broker_destinations": brokerDestinations,
  "0021_registration_sources": registrationSources,
  "0022_registrants": registrants,
  "0023_journeys": journeys,
  "0024_registration_page": registrationPage,
  "0025_journey_trigger_marks": journeyTriggerMarks,
  "0026_sms_push": smsPush,
  "0027_sms_callbacks": smsCallbacks,
  "0028_reports": reports,
  "0029_ai_usage": aiUsage,
  "0030_uuid_v7_monotonic": uuidV7Monotonic,
  "0031_recaps": recaps
}

export const loader = Migrator.fromRecord(migrations)

export const latestMigrationId = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))
