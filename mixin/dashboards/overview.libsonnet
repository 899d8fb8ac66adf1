// Generated once from the hand-made dashboard; edit it here. `c` is
// common.libsonnet applied to the mixin's _config.
function(c) {
  uid: c.config.dashboards.overview.uid,
  title: 'ACS ingestion overview',
  description: 'On-call overview of Adobe Campaign Standard data ingestion into Adobe Experience Platform (acs-ingestion-exporter).',
  tags: c.config.dashboardTags,
  editable: true,
  graphTooltip: 1,
  fiscalYearStartMonth: 0,
  liveNow: false,
  refresh: '1m',
  schemaVersion: 38,
  version: 1,
  time: {
    from: 'now-6h',
    to: 'now',
  },
  timepicker: {},
  timezone: '',
  weekStart: '',
  annotations: c.annotations,
  links: [
    {
      title: 'Runbooks',
      type: 'link',
      url: c.config.runbookURLBase,
      icon: 'doc',
      targetBlank: true,
      tooltip: 'Alert runbooks',
      asDropdown: false,
      includeVars: false,
      keepTime: false,
      tags: [],
    },
    {
      title: 'Capacity',
      type: 'dashboards',
      tags: [c.config.dashboardTags[0]],
      asDropdown: true,
      includeVars: true,
      keepTime: true,
      icon: 'external link',
      targetBlank: false,
      tooltip: '',
      url: '',
    },
  ],
  templating: {
    list: c.variables + [
      {
        name: 'exporter_url',
        label: 'Exporter URL',
        description: "Base URL of the exporter's HTTP API, for the links from exemplars' request_id to GET /api/v1/requests/{tenant}/{mapping}/{id}.",
        type: 'textbox',
        query: 'http://localhost:10193',
        current: {
          selected: false,
          text: 'http://localhost:10193',
          value: 'http://localhost:10193',
        },
        options: [
          {
            selected: true,
            text: 'http://localhost:10193',
            value: 'http://localhost:10193',
          },
        ],
        hide: 0,
        skipUrlSync: false,
      },
    ],
  },
  panels: [
    {
      type: 'row',
      id: 1,
      title: 'Status',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 0,
      },
      panels: [],
    },
    {
      type: 'stat',
      title: 'Exporter targets',
      description: 'Prometheus scrape status (`up`) of each selected exporter instance. DOWN fires AcsIngestionExporterDown after 5 minutes.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}'),
          legendFormat: '{{instance}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 2,
      gridPos: {
        h: 4,
        w: 4,
        x: 0,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Adobe API reachable',
      description: "acs_ingestion_up per tenant: 1 when the exporter's last poll cycle authenticated and reached the Campaign API. DOWN for 10 minutes fires AcsIngestionApiUnreachable.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('acs_ingestion_up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 3,
      gridPos: {
        h: 4,
        w: 4,
        x: 4,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Requests in progress',
      description: 'Ingestion requests currently In Progress, over the selected tenants and mappings.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          decimals: 0,
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum(acs_ingestion_requests_in_progress{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 4,
      gridPos: {
        h: 4,
        w: 4,
        x: 8,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Oldest in-progress request',
      description: 'Age of the oldest request still In Progress (0 when none). Turns red at the default stuck threshold of 2 h (acs_ingestion:threshold_in_progress_seconds).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
              {
                color: 'orange',
                value: 3600,
              },
              {
                color: 'red',
                value: 7200,
              },
            ],
          },
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max(acs_ingestion_in_progress_duration_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 5,
      gridPos: {
        h: 4,
        w: 4,
        x: 12,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Failed + aborted (range)',
      description: 'Requests that ended Failed or Aborted during the selected time range.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
              {
                color: 'orange',
                value: 1,
              },
            ],
          },
          mappings: [],
          decimals: 0,
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum(increase(acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 6,
      gridPos: {
        h: 4,
        w: 4,
        x: 16,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Success ratio (range)',
      description: 'Share of completed requests (success + failed + aborted) that succeeded during the selected time range.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'percentunit',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'red',
                value: null,
              },
              {
                color: 'orange',
                value: 0.9,
              },
              {
                color: 'green',
                value: 0.99,
              },
            ],
          },
          mappings: [],
          decimals: 1,
          min: 0,
          max: 1,
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum(increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[$__range])) / sum(increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 7,
      gridPos: {
        h: 4,
        w: 4,
        x: 20,
        y: 1,
      },
    },
    {
      type: 'row',
      id: 8,
      title: 'Ingestion requests',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 5,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Request outcomes (per hour)',
      description: 'Completed ingestion requests per hour by final status (success / failed / aborted), per tenant and mapping.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byRegexp',
              options: '.* failed$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
            ],
          },
          {
            matcher: {
              id: 'byRegexp',
              options: '.* aborted$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'orange',
                },
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, status) (rate(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}} {{status}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 9,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 6,
      },
    },
    {
      type: 'timeseries',
      title: 'Failures by ACP code (per hour)',
      description: 'Failed and aborted requests per hour by the ACP code Adobe returned (acp_code="none" when there was none). See the runbook\'s ACP code table. Dots are exemplars: the latest failed or aborted request of each series; its request_id links to the exporter\'s record of it (the exporter_url variable).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'request_id',
            },
            properties: [
              {
                id: 'links',
                value: [
                  {
                    title: 'Request ${__value.raw} on the exporter',
                    url: '${exporter_url}/api/v1/requests/${__data.fields.tenant}/${__data.fields.mapping}/${__value.raw}',
                    targetBlank: true,
                  },
                ],
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, status, acp_code) (rate(acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}} {{status}} {{acp_code}}',
          editorMode: 'code',
          range: true,
          instant: false,
          exemplar: true,
        },
      ],
      id: 10,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 6,
      },
    },
    {
      type: 'table',
      title: 'Failures by ACP code (selected range)',
      description: 'Failed / aborted requests during the selected time range, per tenant, mapping, status and ACP code. Only rows with failures are shown.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'auto',
            },
            inspect: false,
          },
          decimals: 0,
        },
        overrides: [],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
        sortBy: [
          {
            displayName: 'Requests',
            desc: true,
          },
        ],
      },
      transformations: [
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              Value: 'Requests',
              acp_code: 'ACP code',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, status, acp_code) (increase(acs_ingestion_failures_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range])) > 0'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 11,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 14,
      },
    },
    {
      type: 'timeseries',
      title: 'Trigger results (per hour)',
      description: "Results of the exporter's ingestion triggers per hour: submitted, already_in_progress (previous run not finished), not_stopped / not_published (mapping state refused by Campaign), error.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, result) (rate(acs_ingestion_triggers_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}} {{result}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 12,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 14,
      },
    },
    {
      type: 'row',
      id: 48,
      title: 'Experience Platform batches',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 22,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Records rejected by Experience Platform (per hour)',
      description: "Records of the followed Experience Platform batches that Platform rejected (Catalog's failedRecordCount), per hour, per tenant and mapping. The exporter follows the batch of every request that ended Failed with ACP-880096 and counts its records when the batch ends, whatever its status: a success batch can hold rejected rows (partial ingestion). Rejected records are not in the dataset; AcsIngestionRecordsRejectedByAep fires on them. Dots are exemplars: the latest batch of each series, with its batch_id and the request_id that links to the exporter's record of the request (the exporter_url variable).",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'request_id',
            },
            properties: [
              {
                id: 'links',
                value: [
                  {
                    title: 'Request ${__value.raw} on the exporter',
                    url: '${exporter_url}/api/v1/requests/${__data.fields.tenant}/${__data.fields.mapping}/${__value.raw}',
                    targetBlank: true,
                  },
                ],
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (rate(acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", outcome="failed"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          exemplar: true,
        },
      ],
      id: 49,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 23,
      },
    },
    {
      type: 'timeseries',
      title: 'Batch records: input vs ingested (per hour)',
      description: "Records of the followed Experience Platform batches per hour when they end, per tenant and mapping: input (Catalog's inputRecordCount, dashed) against ingested (outputRecordCount). The gap between the two is what Platform rejected (Records rejected by Experience Platform). A batch that failed before reading its rows (a disabled dataset, an unreadable file) may report no counts at all.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byRegexp',
              options: '.* input$',
            },
            properties: [
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, outcome) (rate(acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", outcome=~"input|ingested"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}} {{outcome}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 50,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 23,
      },
    },
    {
      type: 'table',
      title: 'Experience Platform error codes (selected range)',
      description: "The 10 most frequent error codes of the Experience Platform batches that ended during the selected time range, per tenant and mapping: how many batches reported each (acs_ingestion_aep_batch_errors_total). A mapping keeps at most 20 codes, the rest is counted as code \"other\". INGEST-1212-400 is Platform's summary of a partly ingested batch, INGEST-1211-400 a batch without error diagnostics; the runbook of AcsIngestionRecordsRejectedByAep says what each code means. Only rows with errors are shown.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'auto',
            },
            inspect: false,
          },
          decimals: 0,
        },
        overrides: [],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
        sortBy: [
          {
            displayName: 'Batches',
            desc: true,
          },
        ],
      },
      transformations: [
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              Value: 'Batches',
              code: 'Error code',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('topk(10, sum by (tenant, mapping, code) (increase(acs_ingestion_aep_batch_errors_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range])) > 0)'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 51,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 31,
      },
    },
    {
      type: 'timeseries',
      title: 'Batches ended by Experience Platform status (per hour)',
      description: "Followed Experience Platform batches per hour by the status they ended with in Catalog: success (possibly with rejected rows), failed, aborted, deleted, inactive; unknown when the exporter gave up following one before it ended.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byRegexp',
              options: '.* failed$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
            ],
          },
          {
            matcher: {
              id: 'byRegexp',
              options: '.* aborted$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'orange',
                },
              },
            ],
          },
          {
            matcher: {
              id: 'byRegexp',
              options: '.* unknown$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'purple',
                },
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping, status) (rate(acs_ingestion_aep_batches_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}} {{status}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 52,
      gridPos: {
        h: 8,
        w: 6,
        x: 12,
        y: 31,
      },
    },
    {
      type: 'timeseries',
      title: 'Batches being followed',
      description: 'Experience Platform batches the exporter is following per tenant and mapping: looked up in Catalog (operation="batch" in Adobe API requests by code) until they end or the exporter gives up on them (then counted with status unknown).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          decimals: 0,
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (acs_ingestion_aep_batches_in_progress{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"})'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 53,
      gridPos: {
        h: 8,
        w: 6,
        x: 18,
        y: 31,
      },
    },
    {
      type: 'row',
      id: 13,
      title: 'In progress and duration',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 39,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Requests in progress',
      description: 'Ingestion requests currently In Progress per tenant and mapping.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          decimals: 0,
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (acs_ingestion_requests_in_progress{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"})'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 14,
      gridPos: {
        h: 8,
        w: 6,
        x: 0,
        y: 40,
      },
    },
    {
      type: 'timeseries',
      title: 'Oldest in-progress request age',
      description: 'Age of the oldest In Progress request per tenant and mapping (0 when none). The dashed line is the stuck-request alert threshold (recording rule acs_ingestion:threshold_in_progress_seconds, needs the rules loaded).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'alert threshold',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant, mapping) (acs_ingestion_in_progress_duration_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"})'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max(acs_ingestion:threshold_in_progress_seconds)'),
          legendFormat: 'alert threshold',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 15,
      gridPos: {
        h: 8,
        w: 6,
        x: 6,
        y: 40,
      },
    },
    {
      type: 'timeseries',
      title: 'Request duration percentiles',
      description: "p50 / p90 / p99 of the duration (trigger to final status) of requests that completed within each interval, all statuses. Gaps mean no request completed in that interval. Dots are exemplars: the latest request in each bucket; its request_id links to the exporter's record of it (the exporter_url variable).",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'request_id',
            },
            properties: [
              {
                id: 'links',
                value: [
                  {
                    title: 'Request ${__value.raw} on the exporter',
                    url: '${exporter_url}/api/v1/requests/${__data.fields.tenant}/${__data.fields.mapping}/${__value.raw}',
                    targetBlank: true,
                  },
                ],
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant, mapping) (rate(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__rate_interval])))'),
          legendFormat: 'p50 {{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          exemplar: true,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('histogram_quantile(0.9, sum by (le, tenant, mapping) (rate(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__rate_interval])))'),
          legendFormat: 'p90 {{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('histogram_quantile(0.99, sum by (le, tenant, mapping) (rate(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__rate_interval])))'),
          legendFormat: 'p99 {{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 16,
      gridPos: {
        h: 8,
        w: 6,
        x: 12,
        y: 40,
      },
    },
    {
      type: 'table',
      title: 'Duration percentiles (selected range)',
      description: 'p50 / p90 / p99 of the duration of requests completed during the selected time range, per tenant and mapping (bucket interpolation: 30 s ... 24 h).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'auto',
            },
            inspect: false,
          },
        },
        overrides: [],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
      },
      transformations: [
        {
          id: 'merge',
          options: {},
        },
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              'Value #A': 'p50',
              'Value #B': 'p90',
              'Value #C': 'p99',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant, mapping) (increase(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__range])))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('histogram_quantile(0.9, sum by (le, tenant, mapping) (increase(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__range])))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('histogram_quantile(0.99, sum by (le, tenant, mapping) (increase(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status!="abandoned"}[$__range])))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 17,
      gridPos: {
        h: 8,
        w: 6,
        x: 18,
        y: 40,
      },
    },
    {
      type: 'row',
      id: 18,
      title: 'Freshness and records',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 48,
      },
      panels: [],
    },
    {
      type: 'table',
      title: 'Time since last success',
      description: 'Per tenant and mapping: time since the last successful ingestion, and how many records it carried. Mappings that never succeeded are omitted from the age column. Red after 26 h (default of AcsIngestionNoRecentSuccess for scheduled mappings).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
              {
                color: 'orange',
                value: 86400,
              },
              {
                color: 'red',
                value: 93600,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'color-text',
            },
            inspect: false,
          },
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'Records in last success',
            },
            properties: [
              {
                id: 'unit',
                value: 'short',
              },
              {
                id: 'decimals',
                value: 0,
              },
              {
                id: 'custom.cellOptions',
                value: {
                  type: 'auto',
                },
              },
            ],
          },
        ],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
      },
      transformations: [
        {
          id: 'merge',
          options: {},
        },
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              'Value #A': 'Since last success',
              'Value #B': 'Records in last success',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant, mapping, name) ((time() - (acs_ingestion_last_success_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"} > 0)) * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max by (tenant, mapping, name) (acs_ingestion_last_success_records{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"} * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 19,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 49,
      },
    },
    {
      type: 'timeseries',
      title: 'Records ingested (per hour)',
      description: 'Records ingested into Experience Platform per hour, per tenant and mapping (from successful requests).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (rate(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__rate_interval])) * 3600'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 20,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 49,
      },
    },
    {
      type: 'row',
      id: 21,
      title: 'Exporter health',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 57,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Adobe API reachable',
      description: 'acs_ingestion_up per tenant over time: 1 = the last poll cycle authenticated and reached the Campaign API.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ],
          min: 0,
          max: 1,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('min by (tenant) (acs_ingestion_up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 22,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 58,
      },
    },
    {
      type: 'timeseries',
      title: 'Adobe API requests by code',
      description: 'Calls from the exporter to Adobe per second by operation (token / trigger / status / batch: the Catalog lookups of the Experience Platform batches it follows) and HTTP code or error kind (timeout, connection). 429 = throttled.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'reqps',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, operation, code) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}[$__rate_interval]))'),
          legendFormat: '{{tenant}} {{operation}} {{code}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 23,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 58,
      },
    },
    {
      type: 'timeseries',
      title: 'Poll latency',
      description: 'Latency of the ingestion status polls (operation="status") to the Adobe API: p50 and p99 per tenant.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant) (rate(acs_ingestion_api_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", operation="status"}[$__rate_interval])))'),
          legendFormat: 'p50 {{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('histogram_quantile(0.99, sum by (le, tenant) (rate(acs_ingestion_api_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", operation="status"}[$__rate_interval])))'),
          legendFormat: 'p99 {{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 24,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 58,
      },
    },
    {
      type: 'timeseries',
      title: 'API latency p99 by operation',
      description: 'p99 latency of all Adobe API calls per tenant and operation (token, trigger, status).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('histogram_quantile(0.99, sum by (le, tenant, operation) (rate(acs_ingestion_api_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}[$__rate_interval])))'),
          legendFormat: '{{tenant}} {{operation}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 25,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 66,
      },
    },
    {
      type: 'stat',
      title: 'Time since last poll',
      description: "Time since each tenant's last completed poll cycle. Red above the default AcsIngestionPollStale threshold (900 s).",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
              {
                color: 'orange',
                value: 300,
              },
              {
                color: 'red',
                value: 900,
              },
            ],
          },
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant) (time() - acs_ingestion_last_poll_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 26,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 66,
      },
    },
    {
      type: 'timeseries',
      title: 'Exporter targets up',
      description: 'Prometheus scrape status of the exporter instances over time.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ],
          min: 0,
          max: 1,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}'),
          legendFormat: '{{instance}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 27,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 66,
      },
    },
    {
      type: 'row',
      id: 43,
      title: 'Polling and call budget',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 74,
      },
      panels: [],
    },
    {
      type: 'table',
      title: 'Status calls per finished request (selected range)',
      description: 'What following a request to its end cost in status calls (GETs), for the requests that ended during the selected time range, per tenant and mapping (acs_ingestion_status_calls_per_request): how many ended, the mean, and p50 / p90 (bucket interpolation: 1, 2, 4 ... 1024 calls). Open requests are polled by age (a tenth of their age, between collector.poll_interval and collector.poll_interval_max) and around their mapping\'s usual duration, so long requests cost far fewer calls than with fixed polling; docs/polling.md gives the figures. NaN: none ended.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          decimals: 1,
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'auto',
            },
            inspect: false,
          },
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'Requests ended',
            },
            properties: [
              {
                id: 'decimals',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
        sortBy: [
          {
            displayName: 'Mean',
            desc: true,
          },
        ],
      },
      transformations: [
        {
          id: 'merge',
          options: {},
        },
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              'Value #A': 'Requests ended',
              'Value #B': 'Mean',
              'Value #C': 'p50',
              'Value #D': 'p90',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_status_calls_per_request_count{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_status_calls_per_request_sum{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range])) / sum by (tenant, mapping) (increase(acs_ingestion_status_calls_per_request_count{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant, mapping) (increase(acs_ingestion_status_calls_per_request_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range])))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'D',
          expr: c.q('histogram_quantile(0.9, sum by (le, tenant, mapping) (increase(acs_ingestion_status_calls_per_request_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[$__range])))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 44,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 75,
      },
    },
    {
      type: 'timeseries',
      title: 'Polls overdue',
      description: "How long past its due time the next poll of each tenant's most delayed mapping is (time() - acs_ingestion_next_poll_timestamp_seconds, the oldest open request of each mapping; 0 when on time, nothing when no request is open). A poll is due a tenth of the request's age after the last one, between collector.poll_interval and collector.poll_interval_max. It grows while polls wait: for the call budget (max_calls_per_hour; see Calls waiting for the budget), a 429's pause or an open breaker (API calls held), a stalled collector. The dashed line is the AcsIngestionPollsStarvedByBudget threshold (acs_ingestion:threshold_poll_overdue_seconds, needs the rules loaded); the alert fires only for tenants with a budget whose status calls wait for it.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'alert threshold',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant) (clamp_min(time() - acs_ingestion_next_poll_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}, 0))'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max(acs_ingestion:threshold_poll_overdue_seconds)'),
          legendFormat: 'alert threshold',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 45,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 75,
      },
    },
    {
      type: 'timeseries',
      title: 'API call budget',
      description: "Tenants with a call budget only. Left axis, calls per hour: the configured max_calls_per_hour (acs_ingestion_api_budget_calls_per_hour, dashed) and the calls actually made with the tenant's credential (every token, trigger, status and batch call, retries included; calls refused by an open breaker are not made). Right axis: the calls left in the tenant's token bucket now (acs_ingestion_api_budget_available_calls): it holds a minute's share of the budget (2 to 10 calls) and refills evenly; near 0 for long, the budget binds and polls wait (negative: a call made without asking, paid back by the next ones). Status calls go only while they leave one call for a trigger or a token request.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            axisLabel: 'calls per hour',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
        },
        overrides: [
          {
            matcher: {
              id: 'byFrameRefID',
              options: 'A',
            },
            properties: [
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
          {
            matcher: {
              id: 'byFrameRefID',
              options: 'C',
            },
            properties: [
              {
                id: 'custom.axisPlacement',
                value: 'right',
              },
              {
                id: 'custom.axisLabel',
                value: 'calls in the bucket',
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant) (acs_ingestion_api_budget_calls_per_hour{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}} budget per hour',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('sum by (tenant) (rate(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", code!="circuit_open"}[$__rate_interval])) * 3600 and on (tenant) max by (tenant) (acs_ingestion_api_budget_calls_per_hour{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}} made per hour',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('min by (tenant) (acs_ingestion_api_budget_available_calls{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}} available now',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 46,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 83,
      },
    },
    {
      type: 'timeseries',
      title: 'Calls waiting for the budget',
      description: "Calls per second that had to wait for the tenant's call budget (max_calls_per_hour) before going, by operation (acs_ingestion_api_budget_waits_total): status (polls, which also keep the bucket's last call for the others), trigger, token. Status waits alone are the budget spreading polls over the hour; trigger or token waits mean the call kept for them ran out too (several at once, or a budget far too small). Sustained status waits with polls overdue (Polls overdue) fire AcsIngestionPollsStarvedByBudget.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'reqps',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, operation) (rate(acs_ingestion_api_budget_waits_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}[$__rate_interval]))'),
          legendFormat: '{{tenant}} {{operation}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 47,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 83,
      },
    },
    {
      type: 'row',
      id: 28,
      title: 'Exporter process',
      collapsed: true,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 91,
      },
      panels: [
        {
          type: 'timeseries',
          title: 'CPU usage',
          description: 'CPU time used by the exporter process (1 = one full core).',
          datasource: c.datasource,
          fieldConfig: {
            defaults: {
              unit: 'percentunit',
              color: {
                mode: 'palette-classic',
              },
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                axisPlacement: 'auto',
                gradientMode: 'none',
                lineInterpolation: 'linear',
                pointSize: 4,
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: ['lastNotNull', 'max'],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          targets: [
            {
              datasource: c.datasource,
              refId: 'A',
              expr: 'rate(process_cpu_seconds_total{job=~"$job", instance=~"$instance"}[$__rate_interval])',
              legendFormat: '{{instance}}',
              editorMode: 'code',
              range: true,
              instant: false,
            },
          ],
          id: 29,
          gridPos: {
            h: 8,
            w: 6,
            x: 0,
            y: 92,
          },
        },
        {
          type: 'timeseries',
          title: 'Resident memory',
          description: 'Resident memory of the exporter process.',
          datasource: c.datasource,
          fieldConfig: {
            defaults: {
              unit: 'bytes',
              color: {
                mode: 'palette-classic',
              },
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                axisPlacement: 'auto',
                gradientMode: 'none',
                lineInterpolation: 'linear',
                pointSize: 4,
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: ['lastNotNull', 'max'],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          targets: [
            {
              datasource: c.datasource,
              refId: 'A',
              expr: 'process_resident_memory_bytes{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}}',
              editorMode: 'code',
              range: true,
              instant: false,
            },
          ],
          id: 30,
          gridPos: {
            h: 8,
            w: 6,
            x: 6,
            y: 92,
          },
        },
        {
          type: 'timeseries',
          title: 'Open file descriptors',
          description: 'Open file descriptors of the exporter process (sockets, SQLite storage).',
          datasource: c.datasource,
          fieldConfig: {
            defaults: {
              unit: 'short',
              color: {
                mode: 'palette-classic',
              },
              custom: {
                drawStyle: 'line',
                lineWidth: 1,
                fillOpacity: 10,
                showPoints: 'never',
                spanNulls: false,
                stacking: {
                  mode: 'none',
                  group: 'A',
                },
                axisPlacement: 'auto',
                gradientMode: 'none',
                lineInterpolation: 'linear',
                pointSize: 4,
                thresholdsStyle: {
                  mode: 'off',
                },
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              decimals: 0,
              min: 0,
            },
            overrides: [],
          },
          options: {
            legend: {
              displayMode: 'table',
              placement: 'right',
              showLegend: true,
              calcs: ['lastNotNull', 'max'],
            },
            tooltip: {
              mode: 'multi',
              sort: 'desc',
            },
          },
          targets: [
            {
              datasource: c.datasource,
              refId: 'A',
              expr: 'process_open_fds{job=~"$job", instance=~"$instance"}',
              legendFormat: '{{instance}}',
              editorMode: 'code',
              range: true,
              instant: false,
            },
          ],
          id: 31,
          gridPos: {
            h: 8,
            w: 6,
            x: 12,
            y: 92,
          },
        },
        {
          type: 'table',
          title: 'Exporter build and uptime',
          description: 'Version and revision of each exporter instance and how long its process has been running.',
          datasource: c.datasource,
          fieldConfig: {
            defaults: {
              unit: 's',
              color: {
                mode: 'thresholds',
              },
              thresholds: {
                mode: 'absolute',
                steps: [
                  {
                    color: 'green',
                    value: null,
                  },
                ],
              },
              mappings: [],
              custom: {
                align: 'auto',
                cellOptions: {
                  type: 'auto',
                },
                inspect: false,
              },
            },
            overrides: [],
          },
          options: {
            showHeader: true,
            cellHeight: 'sm',
            footer: {
              show: false,
              reducer: ['sum'],
              fields: '',
            },
          },
          transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                },
                indexByName: {},
                renameByName: {
                  Value: 'Uptime',
                },
              },
            },
          ],
          targets: [
            {
              datasource: c.datasource,
              refId: 'A',
              expr: c.q('max by (job, instance, version, revision) (acs_ingestion_exporter_build_info{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"} * on (job, instance) group_left () (time() - process_start_time_seconds{job=~"$job", instance=~"$instance"}))'),
              legendFormat: '__auto',
              editorMode: 'code',
              range: false,
              instant: true,
              format: 'table',
            },
          ],
          id: 32,
          gridPos: {
            h: 8,
            w: 6,
            x: 18,
            y: 92,
          },
        },
      ],
    },
    {
      type: 'row',
      id: 33,
      title: 'Scheduler and upstream',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 92,
      },
      panels: [],
    },
    {
      type: 'table',
      title: 'Next trigger',
      description: "Scheduled mappings only: when the exporter next POSTs an ingestion (acs_ingestion_next_trigger_timestamp_seconds), its slot plus jitter, or the retry time after a failed trigger (back-off 1 min doubling to 1 h, never past the next slot), and how long until then. A trigger runs at the first poll cycle after it is due, so 'Due in' may be a little negative; red when overdue by more than 5 minutes: the tenant's calls are held, or the store cannot record a POST.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'dateTimeAsIso',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          custom: {
            align: 'auto',
            cellOptions: {
              type: 'auto',
            },
            inspect: false,
          },
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'Due in',
            },
            properties: [
              {
                id: 'unit',
                value: 's',
              },
              {
                id: 'thresholds',
                value: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'red',
                      value: null,
                    },
                    {
                      color: 'green',
                      value: -300,
                    },
                  ],
                },
              },
              {
                id: 'custom.cellOptions',
                value: {
                  type: 'color-text',
                },
              },
            ],
          },
        ],
      },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        footer: {
          show: false,
          reducer: ['sum'],
          fields: '',
        },
        sortBy: [
          {
            displayName: 'Next trigger',
            desc: false,
          },
        ],
      },
      transformations: [
        {
          id: 'merge',
          options: {},
        },
        {
          id: 'organize',
          options: {
            excludeByName: {
              Time: true,
            },
            indexByName: {},
            renameByName: {
              'Value #A': 'Next trigger',
              'Value #B': 'Due in',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant, mapping, name) (acs_ingestion_next_trigger_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"} * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s}) * 1000'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max by (tenant, mapping, name) ((acs_ingestion_next_trigger_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"} - time()) * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 34,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 93,
      },
    },
    {
      type: 'timeseries',
      title: 'Triggers failing for',
      description: "Scheduled mappings only: how long the mapping's triggers have not started an ingestion (time since acs_ingestion_trigger_failing_since_timestamp_seconds; 0 while the last trigger started one, 'already in progress' included). Causes: Adobe errors or throttling, Campaign refusing (not stopped / not published), the store unable to record the POST; see Trigger results. The dashed line is the AcsIngestionTriggerFailing threshold (acs_ingestion:threshold_trigger_failing_seconds, needs the rules loaded).",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'alert threshold',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant, mapping) ((time() - acs_ingestion_trigger_failing_since_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}) * (acs_ingestion_trigger_failing_since_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"} > bool 0))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max(acs_ingestion:threshold_trigger_failing_seconds)'),
          legendFormat: 'alert threshold',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 35,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 93,
      },
    },
    {
      type: 'timeseries',
      title: 'API calls held',
      description: "How much longer each tenant's Adobe API calls are held (acs_ingestion_api_backoff_until_timestamp_seconds - now; 0 when not held). A 429 pauses every call of the tenant until its Retry-After (at most 1 h); repeated 5xx or time-outs open a breaker (30 s doubling to 10 min, then one probe call). The dashed line is the AcsIngestionApiHeld threshold (acs_ingestion:threshold_api_held_seconds, needs the rules loaded): above it only a Retry-After holds the calls.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byName',
              options: 'alert threshold',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'red',
                },
              },
              {
                id: 'custom.lineStyle',
                value: {
                  fill: 'dash',
                  dash: [10, 10],
                },
              },
              {
                id: 'custom.fillOpacity',
                value: 0,
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant) (clamp_min(acs_ingestion_api_backoff_until_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"} - time(), 0))'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max(acs_ingestion:threshold_api_held_seconds)'),
          legendFormat: 'alert threshold',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 36,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 101,
      },
    },
    {
      type: 'stat',
      title: 'IMS token time left',
      description: "Time until each tenant's current IMS access token expires (24 h tokens, renewed 8 h before expiry, so normally between 8 h and 24 h). Orange: renewal overdue (IMS refuses or cannot be reached; the current token keeps working). Red below 2 h, the AcsIngestionTokenRenewalFailing threshold; negative once expired. Tenants without a token yet are not shown.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 's',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'red',
                value: null,
              },
              {
                color: 'orange',
                value: 7200,
              },
              {
                color: 'green',
                value: 27000,
              },
            ],
          },
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('min by (tenant) ((acs_ingestion_token_expiry_timestamp_seconds{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"} > 0) - time())'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 37,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 101,
      },
    },
    {
      type: 'stat',
      title: 'Store accepting writes',
      description: 'acs_ingestion_store_up per exporter: UP when the store (SQLite file or PostgreSQL) accepts writes. While DOWN the exporter triggers nothing, its counters stay frozen, /-/ready answers 503, and open requests wait to be polled again; DOWN for 2 minutes fires AcsIngestionStoreDown.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'none',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('min by (instance) (acs_ingestion_store_up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"})'),
          legendFormat: '{{instance}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 38,
      gridPos: {
        h: 4,
        w: 8,
        x: 16,
        y: 101,
      },
    },
    {
      type: 'stat',
      title: 'Store size',
      description: "Size of each exporter's SQLite store, database plus write-ahead log (acs_ingestion_store_size_bytes). It grows with the history kept (storage.retention); watch it against the free space of the volume.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'bytes',
          color: {
            mode: 'thresholds',
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
        },
        overrides: [],
      },
      options: {
        reduceOptions: {
          calcs: ['lastNotNull'],
          fields: '',
          values: false,
        },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (instance) (acs_ingestion_store_size_bytes{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"})'),
          legendFormat: '{{instance}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 39,
      gridPos: {
        h: 4,
        w: 8,
        x: 16,
        y: 105,
      },
    },
    {
      type: 'timeseries',
      title: 'Store errors by operation',
      description: 'Store calls that failed per second, by operation (acs_ingestion_store_errors_total): observation, trigger_intent, trigger_attempt, track, prune, read, probe (the health check that also tries a write while the store is down), ... Failed writes set the store DOWN; the exporter logs the outage when it starts, every 5 minutes while it lasts, and when it ends.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'ops',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (instance, operation) (rate(acs_ingestion_store_errors_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}[$__rate_interval]))'),
          legendFormat: '{{instance}} {{operation}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 40,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 109,
      },
    },
    {
      type: 'timeseries',
      title: 'HTTP answers by code',
      description: "Requests the exporter's HTTP server answered per second, by route (handler; 'unmatched' for unknown paths) and status code: scrapes of /metrics, the API, the status page. 401/403 mean clients without valid credentials; 503 on /-/ready means not ready (e.g. the store cannot write), elsewhere --web.max-requests reached.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'reqps',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (instance, handler, code) (rate(acs_ingestion_http_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}[$__rate_interval]))'),
          legendFormat: '{{instance}} {{handler}} {{code}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 41,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 109,
      },
    },
    {
      type: 'timeseries',
      title: 'HTTP connections',
      description: 'Connections open now and requests being answered (left axis), and connections the server closed because of a limit per second, by reason (right axis): connection_limit, per_address_limit, request_head_timeout (no complete request in time), client_certificate (TLS client certificate refused). A sustained refusal rate fires AcsIngestionHTTPConnectionsRefused.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
            axisPlacement: 'auto',
            gradientMode: 'none',
            lineInterpolation: 'linear',
            pointSize: 4,
            thresholdsStyle: {
              mode: 'off',
            },
          },
          thresholds: {
            mode: 'absolute',
            steps: [
              {
                color: 'green',
                value: null,
              },
            ],
          },
          mappings: [],
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byFrameRefID',
              options: 'C',
            },
            properties: [
              {
                id: 'unit',
                value: 'cps',
              },
              {
                id: 'custom.axisPlacement',
                value: 'right',
              },
            ],
          },
        ],
      },
      options: {
        legend: {
          displayMode: 'table',
          placement: 'right',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: {
          mode: 'multi',
          sort: 'desc',
        },
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (instance) (acs_ingestion_http_connections{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"})'),
          legendFormat: '{{instance}} open',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('sum by (instance) (acs_ingestion_http_requests_in_flight{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"})'),
          legendFormat: '{{instance}} in flight',
          editorMode: 'code',
          range: true,
          instant: false,
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('sum by (instance, reason) (rate(acs_ingestion_http_connections_refused_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}[$__rate_interval]))'),
          legendFormat: '{{instance}} refused {{reason}}',
          editorMode: 'code',
          range: true,
          instant: false,
        },
      ],
      id: 42,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 109,
      },
    },
  ],
}
