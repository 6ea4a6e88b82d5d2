{{/* Chart name, truncated to 63 characters. */}}
{{- define "multi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, truncated to 63 characters. */}}
{{- define "multi.fullname" -}}
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
{{- define "multi.component" -}}
{{- $max := int (sub 62 (len .component)) }}
{{- printf "%s-%s" (include "multi.fullname" .root | trunc $max | trimSuffix "-") .component }}
{{- end }}

{{- define "multi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A one-shot's Job name: its component and a hash of its pod template (what it runs: image, command,
env, mounts and their content), so an upgrade that changes none of it keeps the Job, and the init
containers of its dependents, as they are. Call with (dict "root" $ "label" "the service's label"). */}}
{{- define "multi.jobName" -}}
{{- $pod := include (printf "multi.pod.%s" .label) .root }}
{{- include "multi.component" (dict "root" .root "component" (printf "%s-%s" .label ($pod | sha256sum | trunc 8))) }}
{{- end }}

{{/* The service account the app's pods run as: serviceAccount.name, or the chart's own when
serviceAccount.create; empty for the namespace's default. */}}
{{- define "multi.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "multi.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Selector labels; call with (dict "root" $ "component" "name"). */}}
{{- define "multi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "multi.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end }}

{{/* Common labels, plus the compose labels users filter on. */}}
{{- define "multi.labels" -}}
helm.sh/chart: {{ include "multi.chart" .root }}
{{ include "multi.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^-A-Za-z0-9_.]+" .root.Chart.AppVersion "_" | trunc 63 | trimAll "-_." | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
com.docker.compose.project: "multi"
{{- with .service }}
com.docker.compose.service: {{ . | quote }}
{{- end }}
{{- end }}

{{/* URL services use to reach their models. */}}
{{- define "multi.modelEndpoint" -}}
{{- if .Values.modelRunner.enabled }}
{{- .Values.modelRunner.clusterEndpoint | default (printf "http://%s/engines/v1/" (include "multi.component" (dict "root" . "component" "model-runner"))) }}
{{- else }}
{{- .Values.modelRunner.hostEndpoint }}
{{- end }}
{{- end }}

{{/* Ports of a service's headless Services: its container ports, or a placeholder when it declares
none (DNS needs no port; the placeholder is the one compose-on-kubernetes used). */}}
{{- define "multi.headlessPorts" -}}
{{- if .ports }}
{{- range .ports }}
- name: {{ .name }}
  port: {{ .containerPort }}
  targetPort: {{ .containerPort }}
  protocol: {{ .protocol | default "TCP" }}
{{- end }}
{{- else }}
- name: placeholder
  port: 55555
  targetPort: 55555
  protocol: TCP
{{- end }}
{{- end }}

{{/* An image reference, from global.imageRegistry when that is set (a mirror of every registry):
its registry (a first path part with a dot, a colon or `localhost`) is replaced, or the registry is
put in front of a Docker Hub name. Call with (dict "root" $ "ref" "repo/name:tag"). */}}
{{- define "multi.imageRef" -}}
{{- $registry := (.root.Values.global | default dict).imageRegistry | default "" | trimSuffix "/" }}
{{- if $registry }}
{{- $parts := splitList "/" .ref }}
{{- $first := first $parts }}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) }}
{{- printf "%s/%s" $registry (join "/" (rest $parts)) }}
{{- else }}
{{- printf "%s/%s" $registry .ref }}
{{- end }}
{{- else }}
{{- .ref }}
{{- end }}
{{- end }}

{{/* A container's image and pull policy from a values image block; call with (dict "root" $ "image" ...). */}}
{{- define "multi.image" -}}
{{- $i := .image }}
{{- $tag := ternary (printf ":%s" $i.tag) "" (ne (toString $i.tag) "") }}
{{- $digest := ternary (printf "@%s" $i.digest) "" (ne (toString $i.digest) "") -}}
image: {{ include "multi.imageRef" (dict "root" .root "ref" (printf "%s%s%s" $i.repository $tag $digest)) | quote }}
imagePullPolicy: {{ $i.pullPolicy }}
{{- end }}

{{/* A container's securityContext: its values, made restricted (Pod Security Standards) when
podSecurity is "restricted": non-root, no privilege escalation, every capability dropped (of those compose
adds, only NET_BIND_SERVICE, the one the standard allows), RuntimeDefault seccomp. */}}
{{- define "multi.securityContext" -}}
{{- $sc := deepCopy (.context | default dict) }}
{{- if eq (toString .root.Values.podSecurity) "restricted" }}
{{- $_ := set $sc "allowPrivilegeEscalation" false }}
{{- $_ := set $sc "runAsNonRoot" true }}
{{- $_ := unset $sc "privileged" }}
{{- $caps := dict "drop" (list "ALL") }}
{{- if has "NET_BIND_SERVICE" (($sc.capabilities | default dict).add | default list) }}
{{- $_ := set $caps "add" (list "NET_BIND_SERVICE") }}
{{- end }}
{{- $_ := set $sc "capabilities" $caps }}
{{- $_ := set $sc "seccompProfile" (dict "type" "RuntimeDefault") }}
{{- end }}
{{- with $sc }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* The folder of a claim a mount uses (dict "root" $ "volume" persistence-key "subPath" compose-subpath):
persistence.<volume>.subPath ("data": a fresh cloud volume's root holds lost+found, which databases
refuse to initialise over; "" the root), then compose's own volume.subpath below it. */}}
{{- define "multi.claimSubPath" -}}
{{- $sub := (index .root.Values.persistence .volume).subPath | default "" }}
{{- if and $sub .subPath }}
{{- printf "%s/%s" $sub .subPath }}
{{- else }}
{{- $sub | default .subPath }}
{{- end }}
{{- end }}

{{/* Docker's copy-up for new volumes (files/scripts/seed-volume.sh): an init container from the
service's own image, as root with only the capabilities cp -a and chown need, mounts each of the
container's claims under /seed and copies the image's content at the mount path into it when it is
empty. Its commands are the static busybox the seed-tools container copied in, so an image without a
shell is seeded too. Call with (dict "root" $ "name" "image" (image values) "security" (container
securityContext values) "claims" (list of (dict "name" volume "subPath" folder "target" path))). */}}
{{- define "multi.seedContainer" -}}
{{- $sc := .security | default dict -}}
- name: {{ .name }}
  {{- include "multi.image" (dict "root" .root "image" .image) | nindent 2 }}
  command: ["/seed-tools/busybox", "sh", "/scripts/seed-volume.sh"]
  args:
    {{- range $i, $c := .claims }}
    - {{ printf "%s=/seed/%d" $c.target $i | quote }}
    {{- end }}
  {{- if hasKey $sc "runAsUser" }}
  env:
    - name: OWNER
      value: {{ ternary (printf "%v:%v" $sc.runAsUser $sc.runAsGroup) (toString $sc.runAsUser) (hasKey $sc "runAsGroup") | quote }}
  {{- end }}
  volumeMounts:
    {{- range $i, $c := .claims }}
    - name: {{ $c.name }}
      mountPath: {{ printf "/seed/%d" $i | quote }}
      {{- with $c.subPath }}
      subPath: {{ . | quote }}
      {{- end }}
    {{- end }}
    - name: seed-tools
      mountPath: /seed-tools
      readOnly: true
    - name: wait-scripts
      mountPath: /scripts
      readOnly: true
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 500m, memory: 256Mi}
  securityContext:
    runAsUser: 0
    runAsGroup: 0
    runAsNonRoot: false
    allowPrivilegeEscalation: false
    capabilities:
      {{- /* Of the runtime's default set, only what cp -a and chown need: CHOWN, DAC_OVERRIDE, FOWNER,
      FSETID (set-id bits survive the copy). Dropping the rest adds nothing the default lacks. */}}
      drop: [AUDIT_WRITE, KILL, MKNOD, NET_BIND_SERVICE, NET_RAW, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT]
{{- end }}

{{/* Copies the seed image's static busybox into the seed-tools volume for the seed containers. */}}
{{- define "multi.seedToolsContainer" -}}
- name: seed-tools
  image: {{ include "multi.imageRef" (dict "root" .root "ref" .root.Values.seedVolumes.image) | quote }}
  command: ["/bin/cp", "/bin/busybox", "/seed-tools/busybox"]
  volumeMounts:
    - name: seed-tools
      mountPath: /seed-tools
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 64Mi}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    runAsUser: 65534
    capabilities:
      drop: [ALL]
{{- end }}

{{/* One init container that waits, with a time limit and a log line naming what it awaits; call with
(dict "root" $ "wait" (dict "name" "condition" "what" "host" "job")). condition: started | healthy
(the dependency's headless Service resolves: it lists only ready pods), completed (its Job reports
Complete), models (the runner lists every model the service uses). The scripts are files/scripts/*.sh,
mounted from the chart's scripts ConfigMap. */}}
{{- define "multi.waitContainer" -}}
{{- $root := .root }}
{{- $w := .wait -}}
- name: {{ $w.name }}
  {{- if eq $w.condition "models" }}
  image: {{ include "multi.imageRef" (dict "root" $root "ref" $root.Values.modelRunner.prePull.image) | quote }}
  command: ["/bin/sh", "/scripts/wait-models.sh"]
  env:
    - name: RUNNER
      value: {{ include "multi.modelRunnerBase" $root | quote }}
    - name: TIMEOUT
      value: {{ $root.Values.modelRunner.prePull.timeoutSeconds | quote }}
  volumeMounts:
    - name: model-list
      mountPath: /models
      readOnly: true
    - name: wait-scripts
      mountPath: /scripts
      readOnly: true
  {{- else if eq $w.condition "completed" }}
  image: {{ include "multi.imageRef" (dict "root" $root "ref" $root.Values.waitForDependencies.image) | quote }}
  command: ["/bin/sh", "/scripts/wait-completed.sh"]
  env:
    - name: JOB
      value: {{ $w.job | quote }}
    - name: WHAT
      value: {{ $w.what | quote }}
    - name: TIMEOUT
      value: {{ $root.Values.waitForDependencies.timeoutSeconds | quote }}
  volumeMounts:
    - name: job-waiter-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - name: wait-scripts
      mountPath: /scripts
      readOnly: true
  {{- else }}
  image: {{ include "multi.imageRef" (dict "root" $root "ref" $root.Values.waitForDependencies.image) | quote }}
  command: ["/bin/sh", "/scripts/wait-ready.sh"]
  env:
    - name: HOST
      value: {{ $w.host | quote }}
    - name: WHAT
      value: {{ $w.what | quote }}
    - name: CONDITION
      value: {{ $w.condition | quote }}
    {{- if $w.optional }}
    - name: OPTIONAL
      value: "true"
    {{- end }}
    - name: TIMEOUT
      value: {{ $root.Values.waitForDependencies.timeoutSeconds | quote }}
  volumeMounts:
    - name: wait-scripts
      mountPath: /scripts
      readOnly: true
  {{- end }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 64Mi}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    runAsUser: 65534
    capabilities:
      drop: [ALL]
{{- end }}

{{/* The runner's image: with a GPU, Docker's own image is its GPU build (latest-cuda, latest-rocm). */}}
{{- define "multi.runnerImage" -}}
{{- $r := .Values.modelRunner }}
{{- if and $r.gpu.enabled (has $r.image (list "docker/model-runner" "docker/model-runner:latest")) }}
{{- include "multi.imageRef" (dict "root" . "ref" (printf "docker/model-runner:latest-%s" (ternary "rocm" "cuda" (eq $r.gpu.vendor "amd")))) }}
{{- else }}
{{- include "multi.imageRef" (dict "root" . "ref" $r.image) }}
{{- end }}
{{- end }}

{{/* The extended resource (and node taint) of the runner's GPU vendor. */}}
{{- define "multi.runnerGpuResource" -}}
{{- ternary "amd.com/gpu" "nvidia.com/gpu" (eq .Values.modelRunner.gpu.vendor "amd") }}
{{- end }}

{{/* "true" when the chart deploys its own model runner (enabled, and no clusterEndpoint elsewhere). */}}
{{- define "multi.inChartRunner" -}}
{{- if and .Values.modelRunner.enabled (not .Values.modelRunner.clusterEndpoint) }}true{{ end }}
{{- end }}

{{/* "true" when the in-chart runner runs as several replicas (or may, under an autoscaler): each then
pulls its models itself and is Ready once it has them, instead of one pull Job through the Service. */}}
{{- define "multi.runnerScaled" -}}
{{- $r := .Values.modelRunner }}
{{- if and (include "multi.inChartRunner" .) (or (gt (int $r.replicas) 1) $r.autoscaling.enabled) }}true{{ end }}
{{- end }}

{{/* Base URL of the model runner the chart pulls models into and waits on: clusterEndpoint without its
/engines/v1/ suffix, else the in-chart runner Service. */}}
{{- define "multi.modelRunnerBase" -}}
{{- if .Values.modelRunner.clusterEndpoint }}
{{- regexReplaceAll "/engines(/llama\\.cpp)?/v1/?$" .Values.modelRunner.clusterEndpoint "" | trimSuffix "/" }}
{{- else }}
{{- printf "http://%s" (include "multi.component" (dict "root" . "component" "model-runner")) }}
{{- end }}
{{- end }}
