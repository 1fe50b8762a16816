{{/* The release's resources are named after it: palisade, or RELEASE-palisade. */}}
{{- define "palisade.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "palisade.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "palisade.labels" -}}
{{ include "palisade.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "palisade.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "palisade.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "palisade.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* HTTP or HTTPS, for the probes. */}}
{{- define "palisade.webScheme" -}}
{{- if .Values.webserver.tls.enabled -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{/*
palisade.yaml as the daemon reads it (Falco's keys where Falco has them). Paths are the pod's:
the ConfigMaps and Secrets are mounted under /etc/palisade, the host's sockets at their host
paths. config.extra is merged last, over everything.
*/}}
{{- define "palisade.config" -}}
{{- $v := .Values -}}
{{- $http := dict "enabled" $v.outputs.http.enabled "url" $v.outputs.http.url "user_agent" $v.outputs.http.userAgent "insecure" $v.outputs.http.insecure -}}
{{- if $v.outputs.http.caCert -}}{{- $_ := set $http "ca_cert" $v.outputs.http.caCert -}}{{- end -}}
{{- $web := dict "enabled" true "listen_address" "0.0.0.0" "listen_port" (int $v.webserver.port) "prometheus_metrics_enabled" $v.webserver.prometheusMetrics "ssl_enabled" $v.webserver.tls.enabled -}}
{{- if $v.webserver.tls.enabled -}}{{- $_ := set $web "ssl_certificate" "/etc/palisade/webserver-tls/palisade.pem" -}}{{- end -}}
{{- $audit := dict "enabled" $v.k8sAudit.enabled -}}
{{- if $v.k8sAudit.enabled -}}
{{- $_ := set $audit "listen_address" "0.0.0.0" -}}
{{- $_ := set $audit "listen_port" (int $v.k8sAudit.port) -}}
{{- $_ := set $audit "endpoint" $v.k8sAudit.endpoint -}}
{{- if $v.k8sAudit.tls.enabled -}}
{{- $_ := set $audit "ssl_enabled" true -}}
{{- $_ := set $audit "ssl_certificate" "/etc/palisade/k8s-audit-tls/tls.crt" -}}
{{- $_ := set $audit "ssl_private_key" "/etc/palisade/k8s-audit-tls/tls.key" -}}
{{- if $v.k8sAudit.tls.clientCA -}}{{- $_ := set $audit "ssl_client_ca" "/etc/palisade/k8s-audit-tls/ca.crt" -}}{{- end -}}
{{- end -}}
{{- if $v.k8sAudit.bearerTokenSecret -}}{{- $_ := set $audit "bearer_token_file" "/etc/palisade/k8s-audit-token/token" -}}{{- end -}}
{{- end -}}
{{- $c := dict
  "rules_files" (list "/etc/palisade/rules.d")
  "priority" $v.config.priority
  "json_output" true
  "json_include_output_property" true
  "json_include_tags_property" true
  "stdout_output" (dict "enabled" $v.outputs.stdout.enabled)
  "http_output" $http
  "webserver" $web
  "k8s_audit" $audit
  "watch_config_files" $v.config.watchConfigFiles
  "mode" $v.config.mode
  "profiles_dir" "/etc/palisade/profiles"
  "host_monitoring" $v.config.hostMonitoring
  "fail_closed" $v.config.failClosed
  "log_format" $v.daemonset.logFormat
  "hook_socket" (printf "%s/hook.sock" $v.host.runDir)
  "nri" (dict "enabled" true "socket_path" $v.host.nriSocket)
  "containerd_socket" $v.host.containerdSocket
-}}
{{- toYaml (mergeOverwrite $c (deepCopy $v.config.extra)) -}}
{{- end -}}
