// The Kubernetes manifests, rendered by `make mixin` (scripts/render-mixin.py) into
// plain YAML beside this file: relative path -> object or list of objects.
//
//   single/      one replica on SQLite, its database on a PersistentVolumeClaim
//   ha/          three replicas sharing the tenants through leases on PostgreSQL
//   monitoring/  ServiceMonitor, PrometheusRule and the dashboards' ConfigMaps
//                (Prometheus Operator and Grafana's dashboard sidecar)
//
// Each directory is a kustomization: `kubectl apply -k deploy/kubernetes/single`, or
// name it in your own kustomization's resources to set the namespace, the image's
// registry or the resources.
local mixin = import 'mixin.libsonnet';
local version = std.extVar('version');

local name = 'acs-ingestion-exporter';
local port = 10193;
local uid = 10193;  // the image's user (packaging/container/build-image.py)
local configDir = '/etc/acs-ingestion-exporter';
local configFile = configDir + '/acs-ingestion-exporter.yml';
local dataDir = '/var/lib/acs-ingestion-exporter';
// Secrets the manifests reference and never contain (docs/kubernetes.md creates them).
local adobeSecret = name + '-adobe';  // keys: client-id, client-secret
local postgresSecret = name + '-postgres';  // keys: url, password

local labels = { 'app.kubernetes.io/name': name };
local metadata(suffix='') = {
  name: name + suffix,
  labels: labels { 'app.kubernetes.io/version': version },
};

// A tenant to replace with yours; the client id and secret come from the Adobe Secret.
local tenants = |||
  tenants:
    - name: acme-mkt-prod1                  # {tenant} in the API URL; the `tenant` label
      client_id: ${ACS_CLIENT_ID}
      client_secret_file: /run/secrets/adobe/client-secret
      mappings:
        - id: XDM44
          trigger_every: 1h                 # optional: this exporter triggers it
|||;

local configMap(storage) = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: metadata('-config'),
  data: { 'acs-ingestion-exporter.yml': tenants + storage },
};

local secretVolume(volume, secret, mountPath) = {
  volume: { name: volume, secret: { secretName: secret, defaultMode: std.parseOctal('0440') } },
  mount: { name: volume, mountPath: mountPath, readOnly: true },
};

local adobe = secretVolume('adobe', adobeSecret, '/run/secrets/adobe');

// The pod both variants run. Memory: the exporter's resident set measured in the
// image (one tenant, make test-image) is about 40 MiB; the request leaves room for
// more tenants and a large /metrics, the limit for the history rebuilt at start.
local deployment(replicas, args, env, volumes, mounts, extraSpec={}, extraPod={}) = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: metadata(),
  spec: {
    replicas: replicas,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels: labels },
      spec: {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: uid,
          runAsGroup: uid,
          fsGroup: uid,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        // The exporter finishes its shutdown within a few seconds of SIGTERM.
        terminationGracePeriodSeconds: 30,
        containers: [{
          name: 'exporter',
          image: '%s:%s' % [name, version],
          imagePullPolicy: 'IfNotPresent',
          args: ['--config.file=' + configFile, '--web.listen-address=:%d' % port] + args,
          env: [
            { name: 'ACS_CLIENT_ID', valueFrom: { secretKeyRef: { name: adobeSecret, key: 'client-id' } } },
          ] + env,
          ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
          livenessProbe: {
            httpGet: { path: '/-/healthy', port: 'http' },
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 3,
          },
          // 503 while the store cannot write or a tenant's collector is stalled.
          readinessProbe: {
            httpGet: { path: '/-/ready', port: 'http' },
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 3,
          },
          resources: {
            requests: { cpu: '50m', memory: '64Mi' },
            limits: { cpu: '1', memory: '256Mi' },
          },
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [
            { name: 'config', mountPath: configDir, readOnly: true },
            adobe.mount,
            { name: 'tmp', mountPath: '/tmp' },
          ] + mounts,
        }],
        volumes: [
          { name: 'config', configMap: { name: name + '-config' } },
          adobe.volume,
          // SQLite's and the runtime's temporary files: the root is read-only.
          { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        ] + volumes,
      } + extraPod,
    },
  } + extraSpec,
};

local service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: metadata(),
  spec: {
    selector: labels,
    ports: [{ name: 'http', port: port, targetPort: 'http', protocol: 'TCP' }],
  },
};

local kustomization(resources) = {
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: resources,
};

// --- single: SQLite on a volume ---------------------------------------------------
local single = {
  pvc: {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata('-data'),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    },
  },
  config: configMap(|||
    storage:
      driver: sqlite                        # the path is --storage.path, on the volume
      retention: 400d
  |||),
  deployment: deployment(
    1,
    ['--storage.path=%s/acs-ingestion.sqlite' % dataDir],
    [],
    [{ name: 'data', persistentVolumeClaim: { claimName: name + '-data' } }],
    [{ name: 'data', mountPath: dataDir }],
    // One writer of the database file: the old pod stops before the new one opens it.
    extraSpec={ strategy: { type: 'Recreate' } },
  ),
};

// --- ha: replicas on PostgreSQL (docs/high-availability.md) -----------------------
local postgres = secretVolume('postgres', postgresSecret, '/run/secrets/postgres');
local ha = {
  config: configMap(|||
    storage:
      driver: postgres
      url: ${ACS_DB_URL}                    # from the Secret; the password is not in it
      password_file: /run/secrets/postgres/password
    cluster:
      enabled: true
      name: acs-ingestion-exporter          # the instance label of tenants' series
      replica_name: ${ACS_REPLICA_NAME}     # the pod's name
      lease_ttl: 15s
  |||),
  deployment: deployment(
    3,
    [],
    [
      { name: 'ACS_DB_URL', valueFrom: { secretKeyRef: { name: postgresSecret, key: 'url' } } },
      { name: 'ACS_REPLICA_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    [postgres.volume],
    [postgres.mount],
    extraSpec={ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } },
    extraPod={
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: key,
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: labels },
        }
        for key in ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']
      ],
    },
  ),
  // Two of three keep collecting while a node is drained.
  pdb: {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(),
    spec: { minAvailable: 2, selector: { matchLabels: labels } },
  },
};

// --- monitoring: Prometheus Operator and Grafana ----------------------------------
local monitoring = {
  // honorLabels: a cluster's replicas label their tenants' series with cluster.name.
  serviceMonitor: {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(),
    spec: {
      // The job label is the Service's name, which the mixin's selector matches.
      selector: { matchLabels: labels },
      endpoints: [{ port: 'http', path: '/metrics', interval: '30s', honorLabels: true }],
    },
  },
  prometheusRule: {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: metadata(),
    spec: { groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups },
  },
  dashboards: [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadata('-dashboard-' + std.strReplace(std.strReplace(file, '.json', ''), 'acs-ingestion-', '')) {
        labels+: { grafana_dashboard: '1' },
      },
      // The renderer writes the dashboard as the JSON text of dashboards/<file>.
      data: { [file]: mixin.grafanaDashboards[file] },
    }
    for file in std.objectFields(mixin.grafanaDashboards)
  ],
};

{
  'single/persistentvolumeclaim.yaml': single.pvc,
  'single/configmap.yaml': single.config,
  'single/deployment.yaml': single.deployment,
  'single/service.yaml': service,
  'single/kustomization.yaml': kustomization(['configmap.yaml', 'persistentvolumeclaim.yaml', 'deployment.yaml', 'service.yaml']),
  'ha/configmap.yaml': ha.config,
  'ha/deployment.yaml': ha.deployment,
  'ha/service.yaml': service,
  'ha/poddisruptionbudget.yaml': ha.pdb,
  'ha/kustomization.yaml': kustomization(['configmap.yaml', 'deployment.yaml', 'service.yaml', 'poddisruptionbudget.yaml']),
  'monitoring/servicemonitor.yaml': monitoring.serviceMonitor,
  'monitoring/prometheusrule.yaml': monitoring.prometheusRule,
  'monitoring/grafana-dashboards.yaml': monitoring.dashboards,
  'monitoring/kustomization.yaml': kustomization(['servicemonitor.yaml', 'prometheusrule.yaml', 'grafana-dashboards.yaml']),
}
