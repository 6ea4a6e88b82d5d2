{{/* Chart name, truncated to 63 characters. */}}
{{- define "models.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, truncated to 63 characters. */}}
{{- define "models.fullname" -}}
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

{{/* Name of one component's objects: fullname-component, always at most 63 characters. */}}
{{- define "models.component" -}}
{{- $max := int (sub 62 (len .component)) }}
{{- printf "%s-%s" (include "models.fullname" .root | trunc $max | trimSuffix "-") .component }}
{{- end }}

{{- define "models.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels; call with (dict "root" $ "component" "name"). */}}
{{- define "models.selectorLabels" -}}
app.kubernetes.io/name: {{ include "models.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end }}

{{/* Common labels, plus the compose labels users filter on. */}}
{{- define "models.labels" -}}
helm.sh/chart: {{ include "models.chart" .root }}
{{ include "models.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^-A-Za-z0-9_.]+" .root.Chart.AppVersion "_" | trunc 63 | trimAll "-_." | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
com.docker.compose.project: "models"
{{- with .service }}
com.docker.compose.service: {{ . | quote }}
{{- end }}
{{- end }}

{{/* URL services use to reach their models. */}}
{{- define "models.modelEndpoint" -}}
{{- if .Values.modelRunner.enabled }}
{{- .Values.modelRunner.clusterEndpoint | default (printf "http://%s/engines/v1/" (include "models.component" (dict "root" . "component" "model-runner"))) }}
{{- else }}
{{- .Values.modelRunner.hostEndpoint }}
{{- end }}
{{- end }}
