// The alerts. Each expression formats the config into its text (`%(...)s`), so the
// selector and thresholds are spelled once, in config.libsonnet; every alert's
// runbook_url is the runbook base plus its lower-cased name (see mixin.libsonnet).
//
// Thresholds are constant recording rules (rules/rules.libsonnet) joined with
// `on () group_left ()`, so the dashboards draw the same lines the alerts use.
{
  prometheusAlerts+:: {
    groups+: [
      // Ingestion requests. Per-mapping alerts join acs_ingestion_mapping_info
      // to carry the mapping's display name in the `name` label.
      //
      // Failure series are created on the first failure with a given ACP code,
      // already at 1, which increase() cannot see. The Failed / Aborted alerts
      // therefore also fire for a failure series that did not exist 15 minutes
      // ago, provided Prometheus was already scraping that exporter then (so a
      // freshly started Prometheus does not alert on old counts). A cluster's
      // replicas label tenants' series instance="<cluster.name>", which no `up`
      // has: there, the cluster's mapping_info 15 minutes ago says it was.
      {
        name: 'acs-ingestion-requests',
        rules: [
          {
            alert: 'AcsIngestionRequestFailed',
            expr: |||
              (
                  increase(acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="failed"}[15m]) > 0
                or
                  (
                    acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="failed"}
                    unless acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="failed"} offset 15m
                  ) > 0
                  and on (job, instance)
                    (up{%(acsIngestionExporterSelector)s} offset 15m or group by (job, instance) (acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s} offset 15m))
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion Failed: {{ $labels.tenant }} / {{ $labels.mapping }} ({{ $labels.acp_code }})',
              // The last sentence only once Experience Platform has rejected records of
              // the mapping's batches during the window (ACP-880096: the exporter follows
              // the failure's batch to its end); nothing while it has not, or cannot.
              // The query names the alert's own job and instance, so it needs no selector.
              description: |||
                {{ printf "%.0f" $value }} ingestion request(s) of mapping {{ $labels.mapping }}
                "{{ $labels.name }}" on tenant {{ $labels.tenant }} ended in status Failed with code
                {{ $labels.acp_code }} during the last 15 minutes (exporter {{ $labels.instance }}).{{ with printf `sum(increase(acs_ingestion_aep_batch_records_total{job=%q, instance=%q, tenant=%q, mapping=%q, outcome="failed"}[15m])) > 0` $labels.job $labels.instance $labels.tenant $labels.mapping | query }}
                Experience Platform rejected {{ . | first | value | printf "%.0f" }} record(s) of the batches of
                this mapping that ended in that time (AcsIngestionRecordsRejectedByAep).{{ end }}
              |||,
            },
          },
          {
            alert: 'AcsIngestionRequestAborted',
            expr: |||
              (
                  increase(acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="aborted"}[15m]) > 0
                or
                  (
                    acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="aborted"}
                    unless acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, status="aborted"} offset 15m
                  ) > 0
                  and on (job, instance)
                    (up{%(acsIngestionExporterSelector)s} offset 15m or group by (job, instance) (acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s} offset 15m))
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion Aborted: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                {{ printf "%.0f" $value }} ingestion request(s) of mapping {{ $labels.mapping }}
                "{{ $labels.name }}" on tenant {{ $labels.tenant }} ended in status Aborted (code
                {{ $labels.acp_code }}) during the last 15 minutes (exporter {{ $labels.instance }}).
              |||,
            },
          },
          // The exporter gave up on a request (404 for longer than
          // collector.give_up_after, or In Progress longer than
          // collector.max_in_progress). Not a failure series: the abandoned series of
          // acs_ingestion_requests_total exists at 0 from the first scrape, so
          // increase() sees the first one without the new-series clause above.
          {
            alert: 'AcsIngestionRequestAbandoned',
            expr: |||
              (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, status="abandoned"}[15m]) > 0)
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion request abandoned: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                The exporter gave up on {{ printf "%.0f" $value }} ingestion request(s) of mapping
                {{ $labels.mapping }} "{{ $labels.name }}" on tenant {{ $labels.tenant }} during the last 15
                minutes: Adobe answered 404 for longer than collector.give_up_after, or the request stayed In
                Progress longer than collector.max_in_progress. What it came to is unknown and it is no longer
                polled (exporter {{ $labels.instance }}).
              |||,
            },
          },
          // Records Experience Platform rejected, from the batches the exporter follows
          // (the batchId of a request Failed with ACP-880096) to their end. Counted
          // whatever the batch's final status: a `success` batch can hold rejected
          // rows (partial ingestion). The second clause, as for the Failed alert,
          // also sees a series that its first rejection created, already above 0.
          {
            alert: 'AcsIngestionRecordsRejectedByAep',
            expr: |||
              (
                  increase(acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, outcome="failed"}[15m]) > 0
                or
                  (
                    acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, outcome="failed"}
                    unless acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, outcome="failed"} offset 15m
                  ) > 0
                  and on (job, instance)
                    (up{%(acsIngestionExporterSelector)s} offset 15m or group by (job, instance) (acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s} offset 15m))
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Records rejected by Experience Platform: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                Experience Platform rejected {{ printf "%.0f" $value }} record(s) of the batches of mapping
                {{ $labels.mapping }} "{{ $labels.name }}" on tenant {{ $labels.tenant }} that ended during the
                last 15 minutes (the batches' failedRecordCount in Catalog; a batch with status success can hold
                rejected rows too). These records are not in the dataset. The error codes the batches reported
                are in acs_ingestion_aep_batch_errors_total{tenant="{{ $labels.tenant }}",
                mapping="{{ $labels.mapping }}"} (exporter {{ $labels.instance }}).
              |||,
            },
          },
          {
            alert: 'AcsIngestionRequestStuckInProgress',
            expr: |||
              (
                acs_ingestion_in_progress_duration_seconds{%(acsIngestionExporterSelector)s}
                > on () group_left ()
                acs_ingestion:threshold_in_progress_seconds
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion stuck In Progress: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                The oldest ingestion request of mapping {{ $labels.mapping }} "{{ $labels.name }}" on tenant
                {{ $labels.tenant }} has been In Progress for {{ $value | humanizeDuration }}, longer than the
                threshold acs_ingestion:threshold_in_progress_seconds (exporter {{ $labels.instance }}).
              |||,
            },
          },
          // Only for mappings the exporter triggers on a schedule. A mapping that
          // never succeeded counts from the exporter's start.
          {
            alert: 'AcsIngestionNoRecentSuccess',
            expr: |||
              (
                (
                    time() - (acs_ingestion_last_success_timestamp_seconds{%(acsIngestionExporterSelector)s} > 0)
                  or
                    (acs_ingestion_last_success_timestamp_seconds{%(acsIngestionExporterSelector)s} == 0) * 0
                    + on (job, instance) group_left ()
                      (time() - process_start_time_seconds)
                )
                > on () group_left ()
                acs_ingestion:threshold_no_success_seconds
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s, scheduled="true"}
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'No successful ACS ingestion: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                Scheduled mapping {{ $labels.mapping }} "{{ $labels.name }}" on tenant {{ $labels.tenant }} has
                had no successful ingestion for {{ $value | humanizeDuration }} (threshold
                acs_ingestion:threshold_no_success_seconds; exporter {{ $labels.instance }}). Data in Adobe
                Experience Platform is getting stale.
              |||,
            },
          },
          // Records were expected (requests succeeded, or the mapping is scheduled)
          // but none arrived during one day. The last clause requires the series to
          // have existed a day ago, so a fresh exporter or Prometheus does not fire.
          {
            alert: 'AcsIngestionZeroRecordsIngested',
            expr: |||
              acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
              and on (job, instance, tenant, mapping)
                (
                    increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, status="success"}[1d]) > 0
                  or on (job, instance, tenant, mapping)
                    acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s, scheduled="true"}
                )
              and on (job, instance, tenant, mapping)
                increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s}[1d]) == 0
              and on (job, instance, tenant, mapping)
                (acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s} offset 1d)
            ||| % $._config,
            'for': '30m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Zero records ingested in 24h: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                Mapping {{ $labels.mapping }} "{{ $labels.name }}" on tenant {{ $labels.tenant }}
                (scheduled={{ $labels.scheduled }}) ingested 0 records during the last 24 hours although records
                were expected (exporter {{ $labels.instance }}).
              |||,
            },
          },
          // Adobe refused a trigger because the mapping is not in a state that
          // allows on-demand ingestion.
          {
            alert: 'AcsIngestionTriggerRejected',
            expr: |||
              (increase(acs_ingestion_triggers_total{%(acsIngestionExporterSelector)s, result=~"not_stopped|not_published"}[30m]) > 0)
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion trigger rejected ({{ $labels.result }}): {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                Adobe Campaign refused to start an ingestion of mapping {{ $labels.mapping }}
                "{{ $labels.name }}" on tenant {{ $labels.tenant }} because the mapping is
                {{ if eq $labels.result "not_stopped" }}not stopped{{ else }}not published{{ end }}
                ({{ printf "%.0f" $value }} time(s) during the last 30 minutes; exporter
                {{ $labels.instance }}).
              |||,
            },
          },
          {
            alert: 'AcsIngestionTriggerSkipped',
            expr: |||
              (increase(acs_ingestion_triggers_total{%(acsIngestionExporterSelector)s, result="already_in_progress"}[1h]) > 0)
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'ACS ingestion trigger skipped, previous request still running: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                {{ printf "%.0f" $value }} scheduled trigger(s) of mapping {{ $labels.mapping }}
                "{{ $labels.name }}" on tenant {{ $labels.tenant }} were answered "already in progress" during
                the last hour (exporter {{ $labels.instance }}).
              |||,
            },
          },
          // Scheduled mappings only: since when their triggers have not started an
          // ingestion, whatever the reason (Adobe error or throttling, Campaign
          // refusing "not stopped" / "not published", the store unable to record the
          // POST). 0 when the last trigger started one ("already in progress"
          // included). TriggerRejected says at once why Campaign refused; this one
          // says it has lasted, and also covers the failures that are not refusals.
          {
            alert: 'AcsIngestionTriggerFailing',
            expr: |||
              (
                time() - (acs_ingestion_trigger_failing_since_timestamp_seconds{%(acsIngestionExporterSelector)s} > 0)
                > on () group_left ()
                acs_ingestion:threshold_trigger_failing_seconds
              )
              * on (job, instance, tenant, mapping) group_left (name)
                acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'ACS ingestion triggers failing: {{ $labels.tenant }} / {{ $labels.mapping }}',
              description: |||
                The triggers of scheduled mapping {{ $labels.mapping }} "{{ $labels.name }}" on tenant
                {{ $labels.tenant }} have not started an ingestion for {{ $value | humanizeDuration }}
                (threshold acs_ingestion:threshold_trigger_failing_seconds; exporter {{ $labels.instance }}).
                Every attempt since then failed or was refused; the exporter keeps retrying (back-off 1 min
                doubling to 1 h, never past the next slot).
              |||,
            },
          },
        ],
      },
      // Exporter and Adobe API health. acs_ingestion_up is 0 when the tenant's
      // calls cannot be made (authentication, 401/403, 5xx, transport errors, an
      // open breaker), not when Adobe throttles: a 429 pauses all of the tenant's
      // calls instead (ApiThrottled, ApiHeld).
      {
        name: 'acs-ingestion-exporter',
        rules: [
          {
            alert: 'AcsIngestionExporterDown',
            expr: 'up{%(acsIngestionExporterSelector)s} == 0' % $._config,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'acs-ingestion-exporter down: {{ $labels.instance }}',
              description: |||
                Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}) since at least 5
                minutes. Ingestion of Adobe Campaign data is not monitored and scheduled triggers do not run
                while the exporter is down.
              |||,
            },
          },
          {
            alert: 'AcsIngestionExporterAbsent',
            expr: 'absent(up{%(acsIngestionExporterSelector)s})' % $._config,
            'for': '15m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'acs-ingestion-exporter has no scrape target',
              description: |||
                Prometheus has had no target matching {%(acsIngestionExporterSelector)s} for at least
                15 minutes. The scrape configuration or service discovery lost the exporter, so ingestion
                is not monitored.
              ||| % $._config,
            },
          },
          {
            alert: 'AcsIngestionApiUnreachable',
            expr: 'acs_ingestion_up{%(acsIngestionExporterSelector)s} == 0' % $._config,
            'for': '10m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Adobe API unreachable or unauthenticated for tenant {{ $labels.tenant }}',
              description: |||
                The poll cycles of exporter {{ $labels.instance }} for tenant {{ $labels.tenant }} have failed
                to authenticate or to reach the Adobe Campaign API for at least 10 minutes. Ingestion status is
                unknown and scheduled triggers fail.
              |||,
            },
          },
          {
            alert: 'AcsIngestionApiThrottled',
            expr: |||
              (
                sum by (job, instance, tenant, operation) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, code="429"}[15m]))
                /
                sum by (job, instance, tenant, operation) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s}[15m]))
              )
              > on () group_left ()
              acs_ingestion:threshold_api_throttled_ratio
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Adobe API throttling (HTTP 429) for tenant {{ $labels.tenant }}, operation {{ $labels.operation }}',
              description: |||
                {{ $value | humanizePercentage }} of the {{ $labels.operation }} calls of tenant
                {{ $labels.tenant }} were answered with HTTP 429 over the last 15 minutes, for more than 15
                minutes (threshold acs_ingestion:threshold_api_throttled_ratio; exporter
                {{ $labels.instance }}).
              |||,
            },
          },
          // code is an HTTP status or an error kind (timeout, connection, ...):
          // everything that is not 1xx-4xx counts as an error here. 4xx are left
          // to AcsIngestionApiUnreachable (401/403) and AcsIngestionApiThrottled (429).
          {
            alert: 'AcsIngestionApiErrors',
            expr: |||
              (
                sum by (job, instance, tenant, operation) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, code!~"[1-4].."}[15m]))
                /
                sum by (job, instance, tenant, operation) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s}[15m]))
              )
              > on () group_left ()
              acs_ingestion:threshold_api_error_ratio
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Adobe API errors (5xx/timeout/connection) for tenant {{ $labels.tenant }}, operation {{ $labels.operation }}',
              description: |||
                {{ $value | humanizePercentage }} of the {{ $labels.operation }} calls of tenant
                {{ $labels.tenant }} failed with a 5xx status or a transport error over the last 15 minutes, for
                more than 15 minutes (threshold acs_ingestion:threshold_api_error_ratio; exporter
                {{ $labels.instance }}).
              |||,
            },
          },
          // A tenant's worker that made no progress (no poll cycle and no API call of
          // its own ended) within its liveness deadline: three poll intervals and one
          // request time-out past the end of any wait it announced (a 429's pause, an
          // open breaker, a back-off, its turn for a slot). It is waiting for something
          // that does not come. The exporter sets acs_ingestion_up 0 for the tenant too,
          // and /-/ready answers 503 with the reason.
          {
            alert: 'AcsIngestionCollectorStalled',
            expr: |||
              acs_ingestion_collector_stalled{%(acsIngestionExporterSelector)s} == 1
            ||| % $._config,
            'for': '2m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'acs-ingestion-exporter stopped collecting tenant {{ $labels.tenant }}',
              description: |||
                The collector of exporter {{ $labels.instance }} for tenant {{ $labels.tenant }} has made no
                progress within its liveness deadline for at least 2 minutes: no request of the tenant is polled
                and no scheduled ingestion is triggered. The exporter's log says once what the worker waits for.
              |||,
            },
          },
          {
            alert: 'AcsIngestionPollStale',
            expr: |||
              time() - acs_ingestion_last_poll_timestamp_seconds{%(acsIngestionExporterSelector)s}
              > on () group_left ()
              acs_ingestion:threshold_poll_stale_seconds
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'acs-ingestion-exporter stopped polling tenant {{ $labels.tenant }}',
              description: |||
                Exporter {{ $labels.instance }} last completed a poll cycle for tenant {{ $labels.tenant }}
                {{ $value | humanizeDuration }} ago (threshold acs_ingestion:threshold_poll_stale_seconds). Its
                metrics for this tenant are frozen.
              |||,
            },
          },
          // The token is renewed when a third of its life is left (8 h of 24 h), at
          // the first call that needs it; every poll cycle needs one. Expiring within
          // the threshold while token requests fail means the renewals have failed
          // for hours (IMS refuses the secret, or cannot be reached); the current
          // token keeps working until it expires, then every call of the tenant
          // fails. The second clause keeps it silent when no renewal was attempted
          // (a poll loop stopped by a store outage: AcsIngestionStoreDown), and the
          // `> 0` before the first token (AcsIngestionApiUnreachable covers a
          // tenant that never obtained one).
          {
            alert: 'AcsIngestionTokenRenewalFailing',
            expr: |||
              (
                (acs_ingestion_token_expiry_timestamp_seconds{%(acsIngestionExporterSelector)s} > 0) - time()
                < on () group_left ()
                acs_ingestion:threshold_token_expiry_seconds
              )
              and on (job, instance, tenant)
                (increase(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, operation="token", code!~"2.."}[1h]) > 0)
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'IMS token renewal failing for tenant {{ $labels.tenant }}',
              description: |||
                The IMS access token of tenant {{ $labels.tenant }} {{ if lt $value 0.0 }}has
                expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }} and the exporter's token
                requests have failed during the last hour (threshold
                acs_ingestion:threshold_token_expiry_seconds; exporter {{ $labels.instance }}). Tokens are
                renewed 8 hours before they expire, so renewals have been failing for hours; once the token has
                expired every call of the tenant fails.
              |||,
            },
          },
          // A 429's Retry-After (capped at 1 h) holds every call of the tenant. Held
          // further ahead than the threshold can only be such a pause (the breaker
          // backs off 10 min at most). AcsIngestionApiThrottled cannot see it: no
          // call is sent during the pause, so its 429 ratio has no value for 15 min.
          {
            alert: 'AcsIngestionApiHeld',
            expr: |||
              acs_ingestion_api_backoff_until_timestamp_seconds{%(acsIngestionExporterSelector)s} - time()
              > on () group_left ()
              acs_ingestion:threshold_api_held_seconds
            ||| % $._config,
            'for': '0m',
            labels: { severity: 'info' },
            annotations: {
              summary: 'Adobe API calls of tenant {{ $labels.tenant }} held by a long Retry-After',
              description: |||
                Every Adobe API call of tenant {{ $labels.tenant }} (status polls, triggers, token renewals) is
                held for another {{ $value | humanizeDuration }}: Adobe answered HTTP 429 with a Retry-After
                this long (threshold acs_ingestion:threshold_api_held_seconds; exporter {{ $labels.instance }}).
                Nothing of this tenant is polled or triggered meanwhile.
              |||,
            },
          },
          // A tenant's max_calls_per_hour lets fewer polls through than its open
          // requests' schedules ask for. acs_ingestion_next_poll_timestamp_seconds
          // is when the oldest open request of a mapping is due: under a binding
          // budget the due time passes and the poll waits its fair turn, so
          // time() minus it grows. Three clauses, each a series that is missing
          // (so no alert) when it does not apply:
          //  - overdue by more than the threshold (poll_interval_max): a one-off
          //    catch-up (a restart, a request adopted or tracked late, polled
          //    first since it was never polled) clears within minutes; `for: 15m`;
          //  - the tenant has a budget (the gauge is absent without one);
          //  - its status calls waited for the budget during the last 15 minutes.
          //    Polls late for another reason (a stalled collector; a store refusing
          //    writes, which freezes the metrics) make no call, so no wait.
          // And not while the tenant's calls are held (a 429's pause,
          // AcsIngestionApiHeld; an open breaker): late polls are the hold's then,
          // whatever the budget counted meanwhile.
          {
            alert: 'AcsIngestionPollsStarvedByBudget',
            expr: |||
              (
                max by (job, instance, tenant) (
                  time() - acs_ingestion_next_poll_timestamp_seconds{%(acsIngestionExporterSelector)s}
                )
                > on () group_left ()
                acs_ingestion:threshold_poll_overdue_seconds
              )
              and on (job, instance, tenant)
                acs_ingestion_api_budget_calls_per_hour{%(acsIngestionExporterSelector)s}
              and on (job, instance, tenant)
                (increase(acs_ingestion_api_budget_waits_total{%(acsIngestionExporterSelector)s, operation="status"}[15m]) > 0)
              unless on (job, instance, tenant)
                (acs_ingestion_api_backoff_until_timestamp_seconds{%(acsIngestionExporterSelector)s} > time())
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Polls of tenant {{ $labels.tenant }} starved by its call budget (max_calls_per_hour)',
              description: |||
                The status polls of tenant {{ $labels.tenant }} are {{ $value | humanizeDuration }} overdue
                (the oldest open request of its most delayed mapping) while they wait for the tenant's call
                budget, for more than 15 minutes (threshold acs_ingestion:threshold_poll_overdue_seconds;
                exporter {{ $labels.instance }}). max_calls_per_hour is too small for the tenant's open requests
                and their poll schedules: every request is still polled in turn, but ends are seen that much
                later.
              |||,
            },
          },
          {
            alert: 'AcsIngestionStoreDown',
            expr: |||
              acs_ingestion_store_up{%(acsIngestionExporterSelector)s} == 0
            ||| % $._config,
            'for': '2m',
            labels: { severity: 'critical' },
            annotations: {
              summary: 'acs-ingestion-exporter store not writable: {{ $labels.instance }}',
              description: |||
                The store of exporter {{ $labels.instance }} (job {{ $labels.job }}) has refused writes for at
                least 2 minutes (disk full, database file deleted or replaced, PostgreSQL unreachable).
                Meanwhile no ingestion is triggered, counters and /metrics stay at their last values and
                /-/ready answers 503. Nothing is lost: open requests stay open and are polled again once the
                store accepts writes.
              |||,
            },
          },
          // As Prometheus' own PrometheusConfigurationReloadFailure.
          {
            alert: 'AcsIngestionConfigReloadFailed',
            expr: |||
              acs_ingestion_config_last_reload_successful{%(acsIngestionExporterSelector)s} == 0
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'acs-ingestion-exporter configuration reload failed: {{ $labels.instance }}',
              description: |||
                The last configuration reload of exporter {{ $labels.instance }} (job {{ $labels.job }}; SIGHUP
                or POST /-/reload) was refused. It keeps running the previous configuration: the change is not
                applied, and a restart would read the refused file.
              |||,
            },
          },
          {
            alert: 'AcsIngestionWebConfigReloadFailed',
            expr: |||
              acs_ingestion_web_config_last_reload_successful{%(acsIngestionExporterSelector)s} == 0
            ||| % $._config,
            'for': '5m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'acs-ingestion-exporter web configuration refused: {{ $labels.instance }}',
              description: |||
                A change of the web configuration file (--web.config.file: TLS certificate and key, client CAs,
                basic-auth users) of exporter {{ $labels.instance }} (job {{ $labels.job }}) was refused. The
                previous web configuration stays in force (e.g. the old certificate keeps being served), and a
                restart would read the refused file.
              |||,
            },
          },
          // Connections closed by a limit (connection_limit, per_address_limit, evicted,
          // request_head_timeout, client_certificate), not by their client. A
          // kept-alive connection left idle between scrapes is closed by the idle
          // time-out and not counted. The `for` keeps a one-off burst out.
          {
            alert: 'AcsIngestionHTTPConnectionsRefused',
            expr: |||
              rate(acs_ingestion_http_connections_refused_total{%(acsIngestionExporterSelector)s}[15m])
              > on () group_left ()
              acs_ingestion:threshold_http_refused_per_second
            ||| % $._config,
            'for': '15m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'acs-ingestion-exporter refusing connections ({{ $labels.reason }}): {{ $labels.instance }}',
              description: |||
                Exporter {{ $labels.instance }} (job {{ $labels.job }}) has closed {{ printf "%.3g" $value }}
                connections per second because of {{ $labels.reason }} over the last 15 minutes, for more than
                15 minutes (threshold acs_ingestion:threshold_http_refused_per_second). A client is turned away
                persistently: a scraper with a wrong client certificate or too many connections, or abuse.
              |||,
            },
          },
        ],
      },
    ],
  },
}
