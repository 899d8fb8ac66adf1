// Recording rules: the thresholds (one constant series each, from
// config.libsonnet's `thresholds`) and the capacity reports.
{
  prometheusRules+:: {
    groups+: [
      // Thresholds: one constant series each, joined into the alerts with
      // `on () group_left ()`. The series carry no labels. Prometheus evaluates this
      // group first, and the tests expect it first.
      {
        name: 'acs-ingestion-thresholds',
        rules: [
          {
            record: 'acs_ingestion:threshold_' + name,
            expr: 'vector(%g)' % $._config.thresholds[name],
          }
          for name in std.objectFields($._config.thresholds)
        ],
      },
      // Capacity recording rules (level:metric:operations).
      // Aggregated by job, tenant and mapping (instance is dropped).
      {
        name: 'acs-ingestion-capacity',
        rules: [
          {
            record: 'tenant_mapping:acs_ingestion_records_ingested:increase1h',
            expr: 'sum by (job, tenant, mapping) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s}[1h]))' % $._config,
          },
          {
            record: 'tenant_mapping:acs_ingestion_records_ingested:increase1d',
            expr: 'sum by (job, tenant, mapping) (increase(acs_ingestion_records_ingested_total{%(acsIngestionExporterSelector)s}[1d]))' % $._config,
          },
          {
            record: 'tenant:acs_ingestion_records_ingested:increase1d',
            expr: 'sum by (job, tenant) (tenant_mapping:acs_ingestion_records_ingested:increase1d)',
          },
          {
            record: 'tenant_mapping_status:acs_ingestion_requests:increase1h',
            expr: 'sum by (job, tenant, mapping, status) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s}[1h]))' % $._config,
          },
          {
            record: 'tenant_mapping_status:acs_ingestion_requests:increase1d',
            expr: 'sum by (job, tenant, mapping, status) (increase(acs_ingestion_requests_total{%(acsIngestionExporterSelector)s}[1d]))' % $._config,
          },
          // Successful / completed requests. No sample when nothing completed.
          {
            record: 'tenant_mapping:acs_ingestion_requests_success:ratio1h',
            expr: |||
              sum by (job, tenant, mapping) (tenant_mapping_status:acs_ingestion_requests:increase1h{status="success"})
              /
              (sum by (job, tenant, mapping) (tenant_mapping_status:acs_ingestion_requests:increase1h) > 0)
            |||,
          },
          {
            record: 'tenant_mapping:acs_ingestion_requests_success:ratio1d',
            expr: |||
              sum by (job, tenant, mapping) (tenant_mapping_status:acs_ingestion_requests:increase1d{status="success"})
              /
              (sum by (job, tenant, mapping) (tenant_mapping_status:acs_ingestion_requests:increase1d) > 0)
            |||,
          },
        ],
      },
    ],
  },
}
