{{/*
modelgate.serverConfig renders the server's config file (kind ServerConfig, admission/config.h).
Paths are the chart's mounts; everything else comes from .Values.config.
*/}}
{{- define "modelgate.serverConfig" -}}
{{- $c := .Values.config -}}
apiVersion: modelgate.dev/v1alpha1
kind: ServerConfig
listen:
  address: 0.0.0.0
  port: {{ int $c.port }}
  metricsPort: {{ int $c.metricsPort }}
tls:
  certFile: /etc/modelgate/tls/tls.crt
  keyFile: /etc/modelgate/tls/tls.key
{{- if include "modelgate.hasPolicies" . }}
policies:
- /etc/modelgate/policies
{{- else }}
policies: []
{{- end }}
evidence:
{{- if .Values.evidenceStores }}
  stores:
  {{- range .Values.evidenceStores }}
  - {{ .path }}
  {{- end }}
{{- else }}
  stores: []
{{- end }}
cache:
  fileDigestEntries: {{ int64 $c.cache.fileDigestEntries }}
  verdictEntries: {{ int64 $c.cache.verdictEntries }}
  settleInterval: {{ $c.cache.settleInterval }}
  maxTrustAge: {{ $c.cache.maxTrustAge }}
  revalidateWindow: {{ $c.cache.revalidateWindow }}
deadline: {{ int $c.deadlineSeconds }}s
hashing:
  threads: {{ int $c.hashing.threads }}
  maxConcurrentJobs: {{ int $c.hashing.maxConcurrentJobs }}
  maxQueuedJobs: {{ int $c.hashing.maxQueuedJobs }}
  abandonGrace: {{ $c.hashing.abandonGrace }}
prewarm:
  enabled: {{ $c.prewarm.enabled }}
  interval: {{ $c.prewarm.interval }}
reload:
  interval: {{ $c.reload.interval }}
server:
  maxBodyBytes: {{ int64 $c.server.maxBodyBytes }}
  maxHeaderCount: {{ int $c.server.maxHeaderCount }}
  readTimeout: {{ $c.server.readTimeout }}
  writeTimeout: {{ $c.server.writeTimeout }}
  idleTimeout: {{ $c.server.idleTimeout }}
  workerThreads: {{ int $c.server.workerThreads }}
  drainTimeout: {{ $c.server.drainTimeout }}
log:
  level: {{ $c.log.level }}
clusterState:
  enabled: {{ .Values.clusterState.enabled }}
  watchTimeout: {{ .Values.clusterState.watchTimeout }}
{{- end }}
