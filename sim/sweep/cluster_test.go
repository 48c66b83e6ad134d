package sweep

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The manifest dais writes reads back into the Kubernetes API types: an
// Indexed Job of the shard count, each pod mounting the claim at the
// output folder and running its shard by JOB_COMPLETION_INDEX, and a
// ConfigMap with the sweep and base files the pods read.
func TestK8sManifestRoundTrips(t *testing.T) {
	dir := t.TempDir()
	base, _ := os.ReadFile("../../scenarios/quickstart.yaml")
	write(t, dir, "base.yaml", string(base))
	file := write(t, dir, "s.yaml", strings.Replace(smallSweep, "base: quickstart", "base: base.yaml", 1))
	s, err := Load(file, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sweepText, _ := os.ReadFile(file)
	b, err := K8sManifest(s, K8sOptions{Shards: 5, Parallelism: 2, Image: "ghcr.io/example/dais:v1", Claim: "sweep-results", CPU: "2", SweepText: sweepText, BaseText: base})
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("want 2 documents, got %d:\n%s", len(docs), b)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &cm); err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &job); err != nil {
		t.Fatal(err)
	}
	if job.Kind != "Job" || job.APIVersion != "batch/v1" || cm.Kind != "ConfigMap" {
		t.Errorf("kinds: %s %s, %s", job.APIVersion, job.Kind, cm.Kind)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", spec.CompletionMode)
	}
	if spec.Completions == nil || *spec.Completions != 5 || spec.Parallelism == nil || *spec.Parallelism != 2 {
		t.Errorf("completions %v, parallelism %v; want 5 and 2", spec.Completions, spec.Parallelism)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod spec: %+v", pod)
	}
	c := pod.Containers[0]
	args := strings.Join(c.Args, " ")
	if c.Image != "ghcr.io/example/dais:v1" || c.Command[0] != "dais" ||
		!strings.Contains(args, "sweep run /etc/dais/sweep.yaml --base /etc/dais/base.yaml --shard $(JOB_COMPLETION_INDEX)/5 -o /results -j 2") {
		t.Errorf("container: %s %v %s", c.Image, c.Command, args)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "JOB_COMPLETION_INDEX" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env: %+v", c.Env)
	}
	claims := map[string]string{}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims[v.Name] = v.PersistentVolumeClaim.ClaimName
		}
		if v.ConfigMap != nil && v.ConfigMap.Name != cm.Name {
			t.Errorf("the ConfigMap volume names %s, the ConfigMap is %s", v.ConfigMap.Name, cm.Name)
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if claims[m.Name] == "sweep-results" && m.MountPath == "/results" && m.SubPath == "small" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the claim is not mounted at /results: %+v %+v", pod.Volumes, c.VolumeMounts)
	}
	if cm.Data["sweep.yaml"] != string(sweepText) || cm.Data["base.yaml"] != string(base) {
		t.Error("the ConfigMap does not hold the sweep and base files")
	}
	if cpu := c.Resources.Requests[corev1.ResourceCPU]; cpu.String() != "2" {
		t.Errorf("cpu request %s", cpu.String())
	}
	// The pods see the same points: the sweep loads from the ConfigMap's
	// files with --base, and its points hash the same.
	etc := t.TempDir()
	write(t, etc, "sweep.yaml", cm.Data["sweep.yaml"])
	write(t, etc, "base.yaml", cm.Data["base.yaml"])
	s2, err := Load(filepath.Join(etc, "sweep.yaml"), LoadOptions{Base: filepath.Join(etc, "base.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Points[3].Hash != s.Points[3].Hash {
		t.Error("the pods' points hash differently")
	}
}

// The sbatch script asks for an array of the shard count, writes its logs
// where sbatch can, and runs each task's shard by its array index.
func TestSlurmScript(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(write(t, dir, "s.yaml", smallSweep), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := SlurmScript(s, SlurmOptions{Shards: 4, Dais: "/opt/dais bin/dais", Sweep: "/work/s.yaml", Out: "/shared/out", WorkDir: "/work", CPUs: 2, Time: "1:00:00"})
	for _, want := range []string{
		"#!/bin/bash\n",
		"#SBATCH --array=0-3\n",
		"#SBATCH --cpus-per-task=2\n",
		"#SBATCH --output=/shared/out/slurm/%A_%a.out\n",
		"#SBATCH --time=1:00:00\n",
		"exec '/opt/dais bin/dais' sweep run /work/s.yaml --shard /4 -o /shared/out -j \"${SLURM_CPUS_PER_TASK:-1}\"\n",
		"sweep merge /shared/out",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("script lacks %q:\n%s", want, b)
		}
	}
	// Every #SBATCH line comes before the first command, or sbatch
	// ignores it.
	lines := strings.Split(string(b), "\n")
	lastDirective, firstCommand := 0, len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "#SBATCH") {
			lastDirective = i
		} else if i > 0 && l != "" && !strings.HasPrefix(l, "#") && i < firstCommand {
			firstCommand = i
		}
	}
	if lastDirective > firstCommand {
		t.Errorf("an #SBATCH line after the first command (line %d):\n%s", firstCommand+1, b)
	}
	if sh, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(sh, "-n", "-c", string(b)).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v %s", err, out)
		}
	}
}
