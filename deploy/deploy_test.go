// Package deploy_test checks the deployment artefacts (Dockerfile,
// render.yaml, the Kubernetes manifests) against what the binary actually
// serves and reads, so that they do not drift from it unnoticed.
package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/genzai/genzai/adapters/argon2id"
)

// configVars are the variables the README's configuration table documents.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").FindAllStringSubmatch(string(b), -1) {
		vars[m[1]] = true
	}
	require.Greater(t, len(vars), 30, "the README's configuration table was found")
	return vars
}

// Variables the manifests may set that are not genzai's own settings.
var foreignVars = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true}

func readYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			require.ErrorContains(t, err, "EOF", "%s is valid YAML", path)
			break
		}
		docs = append(docs, d)
	}
	require.NotEmpty(t, docs)
	return docs
}

// dig walks a decoded YAML document along keys (strings) and list indexes (ints).
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v is not a mapping at %q", v, k)
			v = m[k]
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "%v has no item %d", v, k)
			v = l[k]
		}
	}
	return v
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	df := string(b)
	for _, tc := range []struct {
		name    string
		pattern string
	}{
		{name: "multi-stage: a build stage", pattern: `(?m)^FROM golang:\S+ AS build$`},
		{name: "static binary", pattern: `CGO_ENABLED=0`},
		{name: "built from the binary's package", pattern: `\./cmd/genzai\b`},
		{name: "non-root base", pattern: `(?m)^FROM gcr\.io/distroless/static-debian12:nonroot$`},
		{name: "runs as a numeric non-root user", pattern: `(?m)^USER 65532:65532$`},
		{name: "health check through the binary", pattern: `(?m)^\s+CMD \["/usr/local/bin/genzai", "health"\]$`},
		{name: "serves by default", pattern: `(?m)^CMD \["serve"\]$`},
		{name: "production by default", pattern: `ENV=production`},
		{name: "the API port", pattern: `(?m)^EXPOSE 8000$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Regexp(t, tc.pattern, df)
		})
	}
	// The build context must carry what the build needs.
	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "api", "db"} {
		assert.NotContains(t, strings.Fields(string(ignore)), needed)
	}
}

func TestRenderBlueprint(t *testing.T) {
	vars := configVars(t)
	doc := readYAML(t, "../render.yaml")[0]
	web := dig(t, doc, "services", 0).(map[string]any)
	assert.Equal(t, "web", web["type"])
	assert.Equal(t, "docker", web["runtime"])
	assert.Equal(t, "./Dockerfile", web["dockerfilePath"])
	assert.Equal(t, "/ready", web["healthCheckPath"])
	set := map[string]bool{}
	for _, e := range dig(t, web, "envVars").([]any) {
		name := e.(map[string]any)["key"].(string)
		set[name] = true
		assert.True(t, vars[name] || foreignVars[name], "%s is a documented setting", name)
	}
	for _, required := range []string{"ENV", "DATABASE_URL", "JWT_SECRET", "REDIS_URL", "METRICS_TOKEN"} {
		assert.True(t, set[required], "render.yaml sets %s", required)
	}
	assert.Equal(t, "production", dig(t, web, "envVars", 0, "value"))
}

func TestKubernetesManifests(t *testing.T) {
	vars := configVars(t)
	kinds := map[string]map[string]any{}
	files, err := filepath.Glob("kubernetes/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		for _, d := range readYAML(t, f) {
			kind, _ := d["kind"].(string)
			require.NotEmpty(t, kind, "%s has a kind", f)
			kinds[kind] = d
		}
	}
	for _, k := range []string{"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret", "Kustomization"} {
		require.Contains(t, kinds, k)
	}

	dep := kinds["Deployment"]
	c := dig(t, dep, "spec", "template", "spec", "containers", 0)
	assert.Equal(t, "/ready", dig(t, c, "readinessProbe", "httpGet", "path"))
	assert.Equal(t, "/health", dig(t, c, "livenessProbe", "httpGet", "path"))
	assert.Equal(t, 8000, dig(t, c, "ports", 0, "containerPort"))
	assert.Equal(t, true, dig(t, dep, "spec", "template", "spec", "securityContext", "runAsNonRoot"))
	assert.Equal(t, false, dig(t, c, "securityContext", "allowPrivilegeEscalation"))

	// The grace period outlasts the shutdown timeout, so streams end cleanly.
	cm := dig(t, kinds["ConfigMap"], "data").(map[string]any)
	grace := dig(t, dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	shutdown, err := strconv.Atoi(cm["SHUTDOWN_TIMEOUT_SECONDS"].(string))
	require.NoError(t, err)
	assert.Less(t, shutdown, grace)
	assert.Equal(t, "production", cm["ENV"])
	assert.Equal(t, "8000", cm["PORT"])

	// Password hashing fits the container: a CPU limit bounds GOMAXPROCS
	// (the hasher runs at most one hash per P), GOMAXPROCS and GOMEMLIMIT
	// follow the limits, and the hashes allowed at once fit in the share of
	// the memory limit the hasher budgets for (argon2id.BudgetShare).
	limits := dig(t, c, "resources", "limits").(map[string]any)
	cpu, ok := limits["cpu"].(string)
	require.True(t, ok, "the container has a CPU limit, quoted: %v", limits["cpu"])
	cpus, err := strconv.Atoi(cpu)
	require.NoError(t, err, "a whole number of CPUs, so GOMAXPROCS equals it")
	memory, ok := limits["memory"].(string)
	require.True(t, ok)
	require.True(t, strings.HasSuffix(memory, "Gi") || strings.HasSuffix(memory, "Mi"), memory)
	mib, err := strconv.Atoi(memory[:len(memory)-2])
	require.NoError(t, err)
	if strings.HasSuffix(memory, "Gi") {
		mib *= 1024
	}
	env := map[string]string{}
	for _, e := range dig(t, c, "env").([]any) {
		m := e.(map[string]any)
		name := m["name"].(string)
		assert.True(t, vars[name] || foreignVars[name], "env: %s is a documented setting", name)
		if ref, ok := m["valueFrom"].(map[string]any)["resourceFieldRef"].(map[string]any); ok {
			env[name] = ref["resource"].(string)
		}
	}
	assert.Equal(t, "limits.cpu", env["GOMAXPROCS"])
	assert.Equal(t, "limits.memory", env["GOMEMLIMIT"])
	_, override := cm["PASSWORD_HASH_MEMORY_MIB"]
	assert.False(t, override, "the hashing budget follows the memory limit")
	perHash := int(argon2id.DefaultParams.MemoryKiB / 1024)
	bound := argon2id.Bound(cpus, argon2id.Budget(0, argon2id.MemoryLimit{Bytes: int64(mib) << 20}), argon2id.DefaultParams.MemoryKiB)
	assert.LessOrEqual(t, bound*perHash*argon2id.BudgetShare, mib, "hashing holds at most a quarter of the memory limit")
	assert.Equal(t, cpus, bound, "the memory budget leaves every CPU a hash (else CPUs idle while logins queue)")

	for name := range cm {
		assert.True(t, vars[name], "ConfigMap: %s is a documented setting", name)
	}
	for name := range dig(t, kinds["Secret"], "stringData").(map[string]any) {
		assert.True(t, vars[name], "Secret: %s is a documented setting", name)
	}

	assert.Equal(t, "http", dig(t, kinds["Service"], "spec", "ports", 0, "targetPort"))
	assert.Equal(t, "Deployment", dig(t, kinds["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "kind"))
	selector := dig(t, kinds["PodDisruptionBudget"], "spec", "selector", "matchLabels")
	assert.Equal(t, dig(t, dep, "spec", "selector", "matchLabels"), selector)

	// Everything but the example Secret is applied by the Kustomization.
	res := dig(t, kinds["Kustomization"], "resources").([]any)
	for _, f := range files {
		base := filepath.Base(f)
		if base == "kustomization.yaml" || base == "secret.example.yaml" {
			assert.NotContains(t, res, base)
			continue
		}
		assert.True(t, slices.Contains(res, any(base)), "kustomization.yaml lists %s", base)
	}
}
