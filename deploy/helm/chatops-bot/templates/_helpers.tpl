{{/*
Names, labels and checks shared by the templates. Object names follow the release (fullname); with the release
name `chatops-bot` they are exactly the names of deploy/.
*/}}

{{- define "chatops-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chatops-bot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object of the bot. */}}
{{- define "chatops-bot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "chatops-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gitops-infra-pipeline
{{- end }}

{{/* What selects the bot's pods (both processes). */}}
{{- define "chatops-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatops-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of one process's pods: (dict "root" $ "component" "web"). */}}
{{- define "chatops-bot.componentSelector" -}}
{{ include "chatops-bot.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one process's objects and pods. */}}
{{- define "chatops-bot.componentLabels" -}}
{{ include "chatops-bot.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The worker's ServiceAccount (bound by the Role) and the web's (bound to nothing). */}}
{{- define "chatops-bot.workerServiceAccount" -}}
{{ include "chatops-bot.fullname" . }}
{{- end }}
{{- define "chatops-bot.webServiceAccount" -}}
{{ include "chatops-bot.fullname" . }}-web
{{- end }}

{{- define "chatops-bot.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/*
The bot's secret settings (src/config/settings.ts, `secret: true`; test/deploy/helm.test.ts keeps this list equal
to it). They reach the pods from existingSecret only, never from values.
*/}}
{{- define "chatops-bot.secretSettings" -}}
SLACK_BOT_TOKEN SLACK_SIGNING_SECRET SLACK_APP_TOKEN REDIS_URL GITHUB_APP_PRIVATE_KEY GITHUB_TOKEN GITHUB_WEBHOOK_SECRET TOKEN_ENCRYPTION_KEY TOKEN_ENCRYPTION_PREVIOUS_KEYS GITHUB_APP_CLIENT_SECRET
{{- end }}

{{/* Settings the chart derives from other values: never from env / workerEnv. */}}
{{- define "chatops-bot.derivedSettings" -}}
KARGO_PROJECT KARGO_STAGE_DEV KARGO_STAGE_PROD HOST PORT METRICS_PORT WORKER_PORT CONFIG_FILE KUBECONFIG
{{- end }}

{{/*
A ConfigMap's data from a map of settings: (dict "root" $ "values" .Values.env "from" "env"). Refuses secret and
derived settings with a message naming the fix; numbers are written as YAML gives them (Helm reads an unquoted
45678901 as a float, which would otherwise print as 4.5678901e+07).
*/}}
{{- define "chatops-bot.settingsData" -}}
{{- $secrets := splitList " " (include "chatops-bot.secretSettings" .root) }}
{{- $derived := splitList " " (include "chatops-bot.derivedSettings" .root) }}
{{- range $key, $value := .values }}
{{- if has $key $secrets }}
{{- fail (printf "%s.%s is a secret setting: put it in the Secret %q (existingSecret), never in values" $.from $key $.root.Values.existingSecret) }}
{{- end }}
{{- if has $key $derived }}
{{- fail (printf "%s.%s is set by the chart (kargo.*, host, ports.*, configFile): set those values instead" $.from $key) }}
{{- end }}
{{- if not (regexMatch "^[A-Z][A-Z0-9_]*$" $key) }}
{{- fail (printf "%s.%s: settings are env names such as LOG_LEVEL" $.from $key) }}
{{- end }}
{{- if and (kindIs "float64" $value) (eq $value (floor $value)) }}
{{ $key }}: {{ printf "%.0f" $value | quote }}
{{- else if kindIs "invalid" $value }}
{{- else }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Restart pods when their configuration changes (ConfigMaps are read at start). */}}
{{- define "chatops-bot.configChecksum" -}}
{{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/* Security contexts: the same as deploy/ (Pod Security "restricted"; the image's uid 10001). */}}
{{- define "chatops-bot.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "chatops-bot.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment of both processes: HOST and ports come from the ConfigMap; these are the Secret's keys. */}}
{{- define "chatops-bot.secretEnv" -}}
{{- $secret := .root.Values.existingSecret }}
{{- range .keys }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ .name }}{{ if .optional }}, optional: true{{ end }} }
{{- end }}
{{- end }}
