{{/*
modelgate.validate fails the render on settings that would install a webhook that cannot work:
a policy source whose root no model source mounts (every workload using it would be denied), two
stores sharing a name or a mount path, relative roots. It renders nothing.
*/}}
{{- define "modelgate.validate" -}}
{{- $roots := list }}
{{- $names := list }}
{{- $paths := list "/etc/modelgate/config" "/etc/modelgate/policies" "/etc/modelgate/trust" "/etc/modelgate/tls" "/tmp" }}
{{- range .Values.modelSources }}
  {{- if has .name $names }}{{- fail (printf "modelSources: name %q is used twice" .name) }}{{- end }}
  {{- if not (hasPrefix "/" .root) }}{{- fail (printf "modelSources[%s].root %q must be an absolute path" .name .root) }}{{- end }}
  {{- $root := trimSuffix "/" .root }}
  {{- if has $root $paths }}{{- fail (printf "modelSources[%s].root %q is already a mount path" .name .root) }}{{- end }}
  {{- $names = append $names .name }}
  {{- $roots = append $roots $root }}
  {{- $paths = append $paths $root }}
{{- end }}
{{- $evnames := list }}
{{- range .Values.evidenceStores }}
  {{- if has .name $evnames }}{{- fail (printf "evidenceStores: name %q is used twice" .name) }}{{- end }}
  {{- if has (trimSuffix "/" .path) $paths }}{{- fail (printf "evidenceStores[%s].path %q is already a mount path" .name .path) }}{{- end }}
  {{- $evnames = append $evnames .name }}
  {{- $paths = append $paths (trimSuffix "/" .path) }}
{{- end }}
{{- if and .Values.validatePolicySources (not .Values.existingPolicyConfigMap) }}
{{- range $file, $text := .Values.policies }}
  {{- range $i, $doc := regexSplit "(?m)^---[ \t]*$" $text -1 }}
    {{- $p := fromYaml $doc }}
    {{- if hasKey $p "Error" }}
      {{- fail (printf "policies[%s]: document %d is not YAML: %s" $file $i (get $p "Error")) }}
    {{- end }}
    {{- if eq (get $p "kind" | toString) "ModelPolicy" }}
      {{- $pname := dig "metadata" "name" "?" $p }}
      {{- range $s := dig "spec" "sources" (list) $p }}
        {{- $root := trimSuffix "/" (toString (get $s "root")) }}
        {{- $ok := false }}
        {{- range $m := $roots }}
          {{- if or (eq $root $m) (hasPrefix (printf "%s/" $m) $root) }}{{- $ok = true }}{{- end }}
        {{- end }}
        {{- if not $ok }}
          {{- fail (printf "policies[%s]: policy %q source %q reads models at %q, which no modelSources entry mounts (mounted: %v); add a modelSources entry with root %q or set validatePolicySources=false" $file $pname (toString (get $s "name")) $root $roots $root) }}
        {{- end }}
      {{- end }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
