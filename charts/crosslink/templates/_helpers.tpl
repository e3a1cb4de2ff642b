{{/* The chart's name. */}}
{{- define "crosslink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object. */}}
{{- define "crosslink.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "crosslink.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "crosslink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods. */}}
{{- define "crosslink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crosslink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "crosslink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crosslink.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease's name. */}}
{{- define "crosslink.leaseName" -}}
{{- default (include "crosslink.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* Whether the pod talks to its own cluster's API (Lease or local cluster): only then is a token mounted. */}}
{{- define "crosslink.usesOwnCluster" -}}
{{- if or .Values.leaderElection.enabled .Values.sharding.enabled .Values.localCluster.name }}true{{ end }}
{{- end }}

{{/* The image reference; the tag defaults to the appVersion. */}}
{{- define "crosslink.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
