// acs-ingestion-exporter monitoring mixin: alerts, recording rules and Grafana
// dashboards, adapted through _config (config.libsonnet).
//
//   local mixin = (import 'mixin.libsonnet') + { _config+:: { acsIngestionExporterSelector: 'job="acs"' } };
//   mixin.prometheusAlerts   // { groups: [...] }: a Prometheus rule file
//   mixin.prometheusRules    // { groups: [...] }: the thresholds and capacity records
//   mixin.grafanaDashboards  // { 'file.json': dashboard }
local mixin =
  (import 'config.libsonnet') +
  (import 'rules/rules.libsonnet') +
  (import 'alerts/alerts.libsonnet') +
  (import 'dashboards/dashboards.libsonnet');

// Descriptions are written wrapped in the sources; an alert shows them as one
// paragraph. Every alert links to its runbook section.
local finishAlert(config, rule) = rule {
  annotations+: {
    description: std.join(' ', std.split(std.rstripChars(rule.annotations.description, '\n'), '\n')),
    runbook_url: config.runbookURLBase + '#' + std.asciiLower(rule.alert),
  },
};

mixin {
  prometheusAlerts+:: {
    groups: [
      group { rules: [finishAlert($._config, rule) for rule in group.rules] }
      for group in super.groups
    ],
  },
}
