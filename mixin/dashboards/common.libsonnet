// What both dashboards share: the data source reference, the query formatter
// that puts the selector into every expression, the template variables and
// the annotations. `config` is the mixin's _config.
function(config) {
  config: config,
  // Every panel and variable queries the data source chosen in $datasource.
  datasource: { type: 'prometheus', uid: '${datasource}' },
  // Formats the config into a query (its %(acsIngestionExporterSelector)s).
  q(expr):: expr % config,

  local datasource = self.datasource,
  local q = self.q,
  // datasource, then job / instance / tenant / mapping (multi, All), each
  // listing only what the selector selects.
  variables: [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      regex: config.datasourceRegex,
      refresh: 1,
      current: {},
      options: [],
      hide: 0,
      includeAll: false,
      multi: false,
      skipUrlSync: false,
    },
    {
      name: 'job',
      label: 'Job',
      type: 'query',
      datasource: datasource,
      definition: q('label_values(acs_ingestion_exporter_build_info{%(acsIngestionExporterSelector)s}, job)'),
      query: {
        query: q('label_values(acs_ingestion_exporter_build_info{%(acsIngestionExporterSelector)s}, job)'),
        refId: 'StandardVariableQuery',
      },
      refresh: 2,
      regex: '',
      sort: 1,
      multi: true,
      includeAll: true,
      allValue: '.*',
      current: {
        selected: true,
        text: ['All'],
        value: ['$__all'],
      },
      options: [],
      hide: 0,
      skipUrlSync: false,
    },
    {
      name: 'instance',
      label: 'Instance',
      type: 'query',
      datasource: datasource,
      definition: q('label_values({%(acsIngestionExporterSelector)s, __name__=~"acs_ingestion_exporter_build_info|acs_ingestion_up", job=~"$job"}, instance)'),
      query: {
        query: q('label_values({%(acsIngestionExporterSelector)s, __name__=~"acs_ingestion_exporter_build_info|acs_ingestion_up", job=~"$job"}, instance)'),
        refId: 'StandardVariableQuery',
      },
      refresh: 2,
      regex: '',
      sort: 1,
      multi: true,
      includeAll: true,
      allValue: '.*',
      current: {
        selected: true,
        text: ['All'],
        value: ['$__all'],
      },
      options: [],
      hide: 0,
      skipUrlSync: false,
    },
    {
      name: 'tenant',
      label: 'Tenant',
      type: 'query',
      datasource: datasource,
      definition: q('label_values(acs_ingestion_up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}, tenant)'),
      query: {
        query: q('label_values(acs_ingestion_up{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance"}, tenant)'),
        refId: 'StandardVariableQuery',
      },
      refresh: 2,
      regex: '',
      sort: 1,
      multi: true,
      includeAll: true,
      allValue: '.*',
      current: {
        selected: true,
        text: ['All'],
        value: ['$__all'],
      },
      options: [],
      hide: 0,
      skipUrlSync: false,
    },
    {
      name: 'mapping',
      label: 'Mapping',
      type: 'query',
      datasource: datasource,
      definition: q('label_values(acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}, mapping)'),
      query: {
        query: q('label_values(acs_ingestion_mapping_info{%(acsIngestionExporterSelector)s, job=~"$job", instance=~"$instance", tenant=~"$tenant"}, mapping)'),
        refId: 'StandardVariableQuery',
      },
      refresh: 2,
      regex: '',
      sort: 1,
      multi: true,
      includeAll: true,
      allValue: '.*',
      current: {
        selected: true,
        text: ['All'],
        value: ['$__all'],
      },
      options: [],
      hide: 0,
      skipUrlSync: false,
    },
  ],

  annotations: {
    list: [
      {
        builtIn: 1,
        datasource: {
          type: 'grafana',
          uid: '-- Grafana --',
        },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      },
    ],
  },
}
