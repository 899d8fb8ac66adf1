// Everything a team adapts to its own Prometheus, spelled once. Override it
// when importing the mixin:
//
//   (import 'acs-ingestion-exporter/mixin/mixin.libsonnet') + {
//     _config+:: { acsIngestionExporterSelector: 'job="acs"' },
//   }
{
  _config+:: {
    // Label matchers that select the exporter's series (and its targets' `up`).
    // Every expression over one of the exporter's metrics carries them.
    acsIngestionExporterSelector: 'job=~".*acs[-_]ingestion.*"',

    // The alerts' thresholds. Each becomes the constant recording rule
    // acs_ingestion:threshold_<name>, joined into the alerts and drawn on the
    // dashboards; docs/monitoring.md describes them.
    thresholds: {
      // A request still "In Progress" after this many seconds is stuck.
      in_progress_seconds: 7200,
      // A scheduled mapping without a successful ingestion for this many
      // seconds is stale (26 h = a daily schedule plus 2 h of slack).
      no_success_seconds: 93600,
      // Share of Adobe API calls answered with HTTP 429 (per tenant and
      // operation, over 15 min) above which throttling is "sustained".
      api_throttled_ratio: 0.1,
      // Share of Adobe API calls failing with 5xx or a transport error
      // (timeout, connection, ...) above which the API is "erroring".
      api_error_ratio: 0.05,
      // The exporter's poll loop is stale when its last poll is older than this.
      poll_stale_seconds: 900,
      // A scheduled mapping whose triggers have not started an ingestion for this
      // many seconds is failing (retries back off from 1 min to 1 h, so 1 h is
      // several attempts, or one slot of an hourly schedule).
      trigger_failing_seconds: 3600,
      // An IMS token that expires within this many seconds while token requests
      // fail: tokens (24 h) are renewed 8 h before expiry, so 2 h left means the
      // renewals have failed for 6 h.
      token_expiry_seconds: 7200,
      // A tenant's calls held further ahead than this (seconds) were paused by a
      // 429's Retry-After: the breaker never holds longer than 10 minutes.
      api_held_seconds: 900,
      // A tenant with a call budget (max_calls_per_hour) whose polls are overdue
      // by more than this many seconds, while its status calls wait for the
      // budget, is starved by it. Keep it at the exporter's
      // collector.poll_interval_max (5 min by default): past it, an end is seen
      // later than twice the longest gap between two polls.
      poll_overdue_seconds: 300,
      // HTTP connections per second refused by one limit (per reason, over 15 min)
      // above which a client is being turned away persistently. A scraper with a
      // wrong client certificate scraping every minute refuses ~0.017/s.
      http_refused_per_second: 0.01,
    },

    // Every alert's runbook_url is this plus '#' and its lower-cased name.
    runbookURLBase: 'https://github.com/acs-ingestion-exporter/acs-ingestion-exporter/blob/main/docs/runbooks.md',

    // Grafana: stable uids (links and bookmarks rely on them), the tag the
    // dashboards' links find each other by, and the Prometheus data source the
    // `datasource` variable offers (a regex over data source names; '' = all,
    // Grafana's default selected).
    dashboards: {
      overview: { uid: 'acs-ingestion-overview', file: 'acs-ingestion-overview.json' },
      capacity: { uid: 'acs-ingestion-capacity', file: 'acs-ingestion-capacity.json' },
    },
    dashboardTags: ['acs-ingestion', 'adobe-campaign', 'prometheus'],
    datasourceRegex: '',
  },
}
