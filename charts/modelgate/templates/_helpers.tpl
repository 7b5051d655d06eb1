{{/*
Names, labels and the few derived values that more than one template needs. Nothing here renders
an object on its own.
*/}}

{{- define "modelgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modelgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "modelgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "modelgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "modelgate.labels" -}}
helm.sh/chart: {{ include "modelgate.chart" . }}
{{ include "modelgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/part-of: modelgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "modelgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "modelgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "modelgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the server reads tls.crt / tls.key from, whatever the TLS mode. */}}
{{- define "modelgate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- required "tls.existingSecret.name is required when tls.mode is existingSecret" .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "modelgate.fullname" .) }}
{{- end }}
{{- end }}

{{- define "modelgate.caSecretName" -}}
{{- printf "%s-ca" (include "modelgate.fullname" .) }}
{{- end }}

{{- define "modelgate.policyConfigMapName" -}}
{{- default (printf "%s-policies" (include "modelgate.fullname" .)) .Values.existingPolicyConfigMap }}
{{- end }}

{{- define "modelgate.hasPolicies" -}}
{{- if or .Values.existingPolicyConfigMap .Values.policies }}true{{- end }}
{{- end }}

{{/* The DNS name the apiserver calls and the serving certificate names. */}}
{{- define "modelgate.serviceHost" -}}
{{- printf "%s.%s.svc" (include "modelgate.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "modelgate.dnsNames" -}}
{{- $svc := include "modelgate.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.tls.clusterDomain) | toJson }}
{{- end }}

{{/* timeoutSeconds: deadline + 2 s unless set, and never one the server cannot meet. */}}
{{- define "modelgate.timeoutSeconds" -}}
{{- $deadline := int .Values.config.deadlineSeconds }}
{{- if kindIs "invalid" .Values.webhook.timeoutSeconds }}
{{- add $deadline 2 }}
{{- else }}
{{- $t := int .Values.webhook.timeoutSeconds }}
{{- if le $t $deadline }}
{{- fail (printf "webhook.timeoutSeconds (%d) must be greater than config.deadlineSeconds (%d): the apiserver would give up before the server answers" $t $deadline) }}
{{- end }}
{{- $t }}
{{- end }}
{{- end }}

{{/*
The volume source of a model or evidence store, read-only whatever the kind. Called with the
entry; exactly one kind is allowed (the schema says so too).
*/}}
{{- define "modelgate.storeVolume" -}}
{{- $kinds := list }}
{{- range $k := list "pvc" "hostPath" "nfs" "csi" "configMap" "secret" }}
{{- if hasKey $ $k }}{{- $kinds = append $kinds $k }}{{- end }}
{{- end }}
{{- if ne (len $kinds) 1 }}
{{- fail (printf "store %q: exactly one of pvc, hostPath, nfs, csi (configMap, secret for evidence) is required, found %v" .name $kinds) }}
{{- end }}
{{- if .pvc }}
persistentVolumeClaim:
  claimName: {{ .pvc.claimName | quote }}
  readOnly: true
{{- else if .hostPath }}
hostPath:
  path: {{ .hostPath.path | quote }}
  type: {{ .hostPath.type | default "Directory" | quote }}
{{- else if .nfs }}
nfs:
  server: {{ .nfs.server | quote }}
  path: {{ .nfs.path | quote }}
  readOnly: true
{{- else if .csi }}
csi:
  driver: {{ .csi.driver | quote }}
  readOnly: true
  {{- with .csi.volumeAttributes }}
  volumeAttributes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .csi.nodePublishSecretRef }}
  nodePublishSecretRef:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- else if .configMap }}
configMap:
  name: {{ .configMap.name | quote }}
{{- else if .secret }}
secret:
  secretName: {{ .secret.secretName | quote }}
{{- end }}
{{- end }}

{{/* modelgate.durationSeconds: "20s" / "2m" / "1h" -> whole seconds (the schema allows only these forms). */}}
{{- define "modelgate.durationSeconds" -}}
{{- $d := toString . }}
{{- if hasSuffix "h" $d }}{{- mul (trimSuffix "h" $d | int) 3600 }}
{{- else if hasSuffix "m" $d }}{{- mul (trimSuffix "m" $d | int) 60 }}
{{- else }}{{- trimSuffix "s" $d | int }}
{{- end }}
{{- end }}
