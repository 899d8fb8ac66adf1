// Generated once from the hand-made dashboard; edit it here. `c` is
// common.libsonnet applied to the mixin's _config.
function(c) {
  uid: c.config.dashboards.capacity.uid,
  title: 'ACS ingestion capacity',
  description: 'Capacity report for Adobe Campaign Standard data ingestion: records ingested per day / week / month per tenant and mapping, top mappings, trends and success ratio, the Adobe API calls against each tenant\'s call budget, and the records Experience Platform rejected in the batches the exporter followed.',
  tags: c.config.dashboardTags + ['capacity'],
  editable: true,
  graphTooltip: 1,
  fiscalYearStartMonth: 0,
  liveNow: false,
  refresh: '',
  schemaVersion: 38,
  version: 1,
  time: {
    from: 'now-30d',
    to: 'now',
  },
  timepicker: {},
  timezone: '',
  weekStart: '',
  annotations: c.annotations,
  links: [
    {
      title: 'Overview',
      type: 'dashboards',
      tags: [c.config.dashboardTags[0]],
      asDropdown: true,
      includeVars: true,
      keepTime: false,
      icon: 'external link',
      targetBlank: false,
      tooltip: '',
      url: '',
    },
  ],
  templating: {
    list: c.variables,
  },
  panels: [
    {
      type: 'row',
      id: 1,
      title: 'Totals',
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
      title: 'Records ingested, last 24 hours',
      description: 'Records ingested into Experience Platform during the last 24 hours (fixed window, independent of the time picker), over the selected tenants and mappings.',
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
          expr: c.q('sum(increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 2,
      gridPos: {
        h: 4,
        w: 6,
        x: 0,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Records ingested, last 7 days',
      description: 'Records ingested into Experience Platform during the last 7 days (fixed window, independent of the time picker), over the selected tenants and mappings.',
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
          expr: c.q('sum(increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 3,
      gridPos: {
        h: 4,
        w: 6,
        x: 6,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Records ingested, last 30 days',
      description: 'Records ingested into Experience Platform during the last 30 days (fixed window, independent of the time picker), over the selected tenants and mappings.',
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
          expr: c.q('sum(increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[30d]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 4,
      gridPos: {
        h: 4,
        w: 6,
        x: 12,
        y: 1,
      },
    },
    {
      type: 'stat',
      title: 'Success ratio, last 7 days',
      description: 'Share of completed requests (success, failed, aborted, abandoned) that succeeded during the last 7 days.',
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
          decimals: 2,
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
          expr: c.q('sum(increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[7d])) / sum(increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 5,
      gridPos: {
        h: 4,
        w: 6,
        x: 18,
        y: 1,
      },
    },
    {
      type: 'row',
      id: 6,
      title: 'Per tenant and mapping',
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
      type: 'table',
      title: 'Records per mapping: day / week / month',
      description: "Records ingested per tenant and mapping during the last 24 hours, 7 days and 30 days (fixed windows), with the mapping's name.",
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
            displayName: '30 days',
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
              'Value #A': '24 hours',
              'Value #B': '7 days',
              'Value #C': '30 days',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('max by (tenant, mapping, name) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]) * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max by (tenant, mapping, name) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d]) * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('max by (tenant, mapping, name) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[30d]) * on (job, instance, tenant, mapping) group_left (name) acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s})'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 7,
      gridPos: {
        h: 9,
        w: 12,
        x: 0,
        y: 6,
      },
    },
    {
      type: 'bargauge',
      title: 'Top 10 mappings, last 7 days',
      description: 'The 10 tenant/mapping pairs that ingested the most records during the last 7 days.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'continuous-BlPu',
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
        orientation: 'horizontal',
        displayMode: 'gradient',
        showUnfilled: true,
        valueMode: 'color',
        namePlacement: 'auto',
        sizing: 'auto',
        minVizHeight: 16,
        minVizWidth: 8,
        maxVizHeight: 300,
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('topk(10, sum by (tenant, mapping) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d])))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 8,
      gridPos: {
        h: 9,
        w: 12,
        x: 12,
        y: 6,
      },
    },
    {
      type: 'bargauge',
      title: 'Records per tenant, last 30 days',
      description: 'Records ingested per tenant during the last 30 days.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'continuous-BlPu',
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
        orientation: 'horizontal',
        displayMode: 'gradient',
        showUnfilled: true,
        valueMode: 'color',
        namePlacement: 'auto',
        sizing: 'auto',
        minVizHeight: 16,
        minVizWidth: 8,
        maxVizHeight: 300,
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sort_desc(sum by (tenant) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[30d])))'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 9,
      gridPos: {
        h: 7,
        w: 12,
        x: 0,
        y: 15,
      },
    },
    {
      type: 'table',
      title: 'Average records per successful request, last 30 days',
      description: 'Records ingested divided by successful requests during the last 30 days, per tenant and mapping: the typical batch size.',
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
            displayName: 'Records per request',
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
              Value: 'Records per request',
            },
          },
        },
      ],
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[30d])) / sum by (tenant, mapping) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[30d]))'),
          legendFormat: '__auto',
          editorMode: 'code',
          range: false,
          instant: true,
          format: 'table',
        },
      ],
      id: 10,
      gridPos: {
        h: 7,
        w: 12,
        x: 12,
        y: 15,
      },
    },
    {
      type: 'row',
      id: 11,
      title: 'Trends',
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
      title: 'Records ingested per day',
      description: 'Records ingested per day (each bar = the 24 hours up to its time stamp), per tenant and mapping.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 60,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
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
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 12,
      gridPos: {
        h: 9,
        w: 12,
        x: 0,
        y: 23,
      },
    },
    {
      type: 'timeseries',
      title: 'Records ingested, rolling 7 days',
      description: 'Records ingested during the 7 days up to each point, per tenant: the weekly volume trend.',
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
          expr: c.q('sum by (tenant) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d]))'),
          legendFormat: '{{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1h',
        },
      ],
      id: 13,
      gridPos: {
        h: 9,
        w: 12,
        x: 12,
        y: 23,
      },
    },
    {
      type: 'timeseries',
      title: 'Requests per day by outcome',
      description: 'Completed requests per day by final status, per tenant: success, failed and aborted as Adobe reported them, abandoned when the exporter gave up on a request (Adobe answered 404 past collector.give_up_after, or it stayed In Progress past collector.max_in_progress).',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 60,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
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
        overrides: [
          {
            matcher: {
              id: 'byRegexp',
              options: '.* success$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'green',
                },
              },
            ],
          },
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
              options: '.* abandoned$',
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
          expr: c.q('sum by (tenant, status) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '{{tenant}} {{status}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 14,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 32,
      },
    },
    {
      type: 'timeseries',
      title: 'Success ratio per day',
      description: 'Share of completed requests (abandoned ones included) that succeeded per day, per tenant and mapping.',
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
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[1d])) / sum by (tenant, mapping) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 15,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 32,
      },
    },
    {
      type: 'timeseries',
      title: 'Successful request duration per day (p50 / p90)',
      description: 'Median and p90 duration of successful requests per day, per tenant and mapping: growing durations announce capacity problems before requests get stuck.',
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
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant, mapping) (increase(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[1d])))'),
          legendFormat: 'p50 {{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('histogram_quantile(0.9, sum by (le, tenant, mapping) (increase(acs_ingestion_request_duration_seconds_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", status="success"}[1d])))'),
          legendFormat: 'p90 {{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 16,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 32,
      },
    },
    {
      type: 'row',
      id: 17,
      title: 'Adobe API calls and budget',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 40,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Status calls per finished request per day (mean / p50 / p90)',
      description: 'Status calls (GETs) spent on each request that ended, per day and tenant (acs_ingestion_status_calls_per_request): the mean, and p50 / p90 (bucket interpolation: 1, 2, 4 ... 1024 calls). Long requests cost more; polling by age and around the usual duration brings a one-hour request to about 40 to 50 calls instead of 120 (docs/polling.md). Multiply by the requests per day for the status calls a tenant needs.',
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
          expr: c.q('sum by (tenant) (increase(acs_ingestion_status_calls_per_request_sum{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d])) / sum by (tenant) (increase(acs_ingestion_status_calls_per_request_count{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: 'mean {{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('histogram_quantile(0.5, sum by (le, tenant) (increase(acs_ingestion_status_calls_per_request_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d])))'),
          legendFormat: 'p50 {{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
        {
          datasource: c.datasource,
          refId: 'C',
          expr: c.q('histogram_quantile(0.9, sum by (le, tenant) (increase(acs_ingestion_status_calls_per_request_bucket{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d])))'),
          legendFormat: 'p90 {{tenant}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 18,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 41,
      },
    },
    {
      type: 'timeseries',
      title: 'Adobe API calls per hour vs budget (daily mean)',
      description: "Calls made with each tenant's credential per hour, averaged over each day (every token, trigger, status and batch call, retries included; calls refused by an open breaker are not made), and the tenant's max_calls_per_hour (acs_ingestion_api_budget_calls_per_hour, dashed; tenants with a budget only). Busy hours run above the daily mean: the overview's API call budget panel shows the live rate. For a tenant without a budget, the calls show what budget it would need.",
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
          min: 0,
        },
        overrides: [
          {
            matcher: {
              id: 'byFrameRefID',
              options: 'B',
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
          expr: c.q('sum by (tenant) (increase(acs_ingestion_api_requests_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", code!="circuit_open"}[1d])) / 24'),
          legendFormat: '{{tenant}} made per hour',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
        {
          datasource: c.datasource,
          refId: 'B',
          expr: c.q('max by (tenant) (acs_ingestion_api_budget_calls_per_hour{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"})'),
          legendFormat: '{{tenant}} budget per hour',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 19,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 41,
      },
    },
    {
      type: 'timeseries',
      title: 'Calls waiting for the budget per day',
      description: "Calls per day that had to wait for the tenant's call budget (max_calls_per_hour) before going, by tenant and operation (acs_ingestion_api_budget_waits_total). Status waits growing day after day: the budget is getting too small for the open requests, and their ends are seen later (AcsIngestionPollsStarvedByBudget). Trigger or token waits: the calls kept for them ran out too.",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 60,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
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
          expr: c.q('sum by (tenant, operation) (increase(acs_ingestion_api_budget_waits_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}[1d]))'),
          legendFormat: '{{tenant}} {{operation}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 20,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 41,
      },
    },
    {
      type: 'row',
      id: 21,
      title: 'Experience Platform batches',
      collapsed: false,
      gridPos: {
        h: 1,
        w: 24,
        x: 0,
        y: 49,
      },
      panels: [],
    },
    {
      type: 'timeseries',
      title: 'Records rejected by Experience Platform per day',
      description: "Records per day that Experience Platform rejected in the batches the exporter followed (those of requests Failed with ACP-880096), per tenant and mapping (Catalog's failedRecordCount, counted when a batch ends; a success batch can hold rejected rows). Rejected records are not in the dataset: a mapping that rejects records day after day has a lasting data or schema problem (see the runbook of AcsIngestionRecordsRejectedByAep).",
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 60,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
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
          expr: c.q('sum by (tenant, mapping) (increase(acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", outcome="failed"}[1d]))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 22,
      gridPos: {
        h: 8,
        w: 8,
        x: 0,
        y: 50,
      },
    },
    {
      type: 'timeseries',
      title: 'Batch records per day: input vs ingested',
      description: "Records per day of the Experience Platform batches the exporter followed, per tenant: input (Catalog's inputRecordCount, dashed) against ingested (outputRecordCount). The gap is what Platform rejected.",
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
          expr: c.q('sum by (tenant, outcome) (increase(acs_ingestion_aep_batch_records_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping", outcome=~"input|ingested"}[1d]))'),
          legendFormat: '{{tenant}} {{outcome}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 23,
      gridPos: {
        h: 8,
        w: 8,
        x: 8,
        y: 50,
      },
    },
    {
      type: 'bargauge',
      title: 'Top 10 Experience Platform error codes, last 7 days',
      description: 'The 10 tenant / mapping / error code triples reported by the most ended Experience Platform batches during the last 7 days (acs_ingestion_aep_batch_errors_total: batches, not records). A mapping keeps at most 20 codes, the rest is counted as code "other". The runbook of AcsIngestionRecordsRejectedByAep says what each code means.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'continuous-BlPu',
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
        orientation: 'horizontal',
        displayMode: 'gradient',
        showUnfilled: true,
        valueMode: 'color',
        namePlacement: 'auto',
        sizing: 'auto',
        minVizHeight: 16,
        minVizWidth: 8,
        maxVizHeight: 300,
      },
      targets: [
        {
          datasource: c.datasource,
          refId: 'A',
          expr: c.q('topk(10, sum by (tenant, mapping, code) (increase(acs_ingestion_aep_batch_errors_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[7d])) > 0)'),
          legendFormat: '{{tenant}} / {{mapping}} {{code}}',
          editorMode: 'code',
          range: false,
          instant: true,
        },
      ],
      id: 24,
      gridPos: {
        h: 8,
        w: 8,
        x: 16,
        y: 50,
      },
    },
    {
      type: 'timeseries',
      title: 'Batches per day by Experience Platform status',
      description: 'Followed Experience Platform batches that ended per day, per tenant, by the status they ended with in Catalog (success, failed, aborted, deleted, inactive), or unknown when the exporter gave up following one before it ended.',
      datasource: c.datasource,
      fieldConfig: {
        defaults: {
          unit: 'short',
          color: {
            mode: 'palette-classic',
          },
          custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 60,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
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
        overrides: [
          {
            matcher: {
              id: 'byRegexp',
              options: '.* success$',
            },
            properties: [
              {
                id: 'color',
                value: {
                  mode: 'fixed',
                  fixedColor: 'green',
                },
              },
            ],
          },
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
          expr: c.q('sum by (tenant, status) (increase(acs_ingestion_aep_batches_total{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '{{tenant}} {{status}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 25,
      gridPos: {
        h: 8,
        w: 12,
        x: 0,
        y: 58,
      },
    },
    {
      type: 'timeseries',
      title: 'Batches being followed (daily maximum)',
      description: 'The most Experience Platform batches the exporter followed at once each day, per tenant and mapping (acs_ingestion_aep_batches_in_progress): each one is looked up in Catalog (operation="batch") until it ends or the exporter gives up on it.',
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
          expr: c.q('max by (tenant, mapping) (max_over_time(acs_ingestion_aep_batches_in_progress{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant", mapping=~"$mapping"}[1d]))'),
          legendFormat: '{{tenant}} / {{mapping}}',
          editorMode: 'code',
          range: true,
          instant: false,
          interval: '1d',
        },
      ],
      id: 26,
      gridPos: {
        h: 8,
        w: 12,
        x: 12,
        y: 58,
      },
    },
  ],
}
