// grafanaDashboards: file name -> dashboard JSON.
local common = import 'common.libsonnet';
{
  grafanaDashboards+:: {
    local c = common($._config),
    [$._config.dashboards.overview.file]: (import 'overview.libsonnet')(c),
    [$._config.dashboards.capacity.file]: (import 'capacity.libsonnet')(c),
  },
}
