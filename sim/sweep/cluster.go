package sweep

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// SlurmOptions describe a Slurm job array that runs a sweep.
type SlurmOptions struct {
	Shards int
	// Dais is the dais binary the tasks run; Sweep the sweep file and Out
	// the output folder: absolute paths on the filesystem the nodes share.
	Dais, Sweep, Out string
	// WorkDir is the folder the tasks start in (relative paths in the
	// base scenario resolve from it).
	WorkDir string
	// CPUs per task: its points run on that many goroutines.
	CPUs int
	// Time limit per task (sbatch --time, e.g. 2:00:00) and partition;
	// empty leaves them to the cluster's defaults.
	Time, Partition string
}

// SlurmScript is an sbatch script that runs the sweep as a job array of
// o.Shards tasks: task i runs the points whose index is i modulo Shards,
// all writing their point folders into o.Out. dais merges them afterwards;
// Slurm does the scheduling.
func SlurmScript(s *Sweep, o SlurmOptions) []byte {
	var b bytes.Buffer
	q := shellQuote
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# The sweep %s (%d points × %d repetitions) as a Slurm job array of %d tasks.\n", s.Name, len(s.Points), s.Repetitions, o.Shards)
	fmt.Fprintf(&b, "# Written by `dais sweep slurm`. Task i runs the points whose index is i mod %d and\n", o.Shards)
	fmt.Fprintf(&b, "# writes each into %s/points/<hash>/ (the nodes must share that folder);\n", o.Out)
	fmt.Fprintf(&b, "# a task that is requeued or rerun skips the points it finished.\n#\n")
	fmt.Fprintf(&b, "# Submit, then merge when every task has ended:\n")
	fmt.Fprintf(&b, "#   job=$(sbatch --parsable %s)\n", "THIS_SCRIPT")
	fmt.Fprintf(&b, "#   sbatch --dependency=afterok:$job --wrap %s\n", q(q(o.Dais)+" sweep merge "+q(o.Out)))
	fmt.Fprintf(&b, "# or, after squeue shows none of its tasks: %s sweep merge %s\n", q(o.Dais), q(o.Out))
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", jobName(s.Name))
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", o.Shards-1)
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", max(o.CPUs, 1))
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(o.Out, "slurm", "%A_%a.out"))
	if o.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	}
	if o.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", o.Partition)
	}
	fmt.Fprintf(&b, "set -euo pipefail\n")
	fmt.Fprintf(&b, "cd %s\n", q(o.WorkDir))
	fmt.Fprintf(&b, "# --shard /%d: the index is SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN.\n", o.Shards)
	fmt.Fprintf(&b, "exec %s sweep run %s --shard /%d -o %s -j \"${SLURM_CPUS_PER_TASK:-1}\"\n", q(o.Dais), q(o.Sweep), o.Shards, q(o.Out))
	return b.Bytes()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// jobName is a DNS-1123 label from the sweep's name, as Kubernetes wants
// for a Job's name (and is fine for Slurm).
func jobName(name string) string {
	n := "dais-sweep-" + strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(n) > 52 { // the Job controller adds "-<index>-<5 chars>" to pod names
		n = strings.TrimRight(n[:52], "-")
	}
	return n
}

// K8sOptions describe a Kubernetes Indexed Job that runs a sweep.
type K8sOptions struct {
	Shards      int
	Parallelism int // pods at once (0: Shards)
	Image       string
	// Dais is the dais binary in the image (default "dais", on PATH).
	Dais string
	// Claim is the PersistentVolumeClaim every pod mounts at the output
	// folder; with pods on several nodes it must be ReadWriteMany.
	Claim string
	// CPU and Memory each pod requests (and is limited to), in
	// Kubernetes' quantities: "2", "500m", "2Gi".
	CPU, Memory string
	Namespace   string
	// SweepText and BaseText are the sweep file and the base scenario
	// file, shipped to the pods in a ConfigMap; BaseText is empty when
	// the base is a shipped scenario (the binary has it).
	SweepText, BaseText []byte
}

// Paths in the pods.
const (
	k8sConfigDir = "/etc/dais"
	k8sOutDir    = "/results"
	k8sSweepKey  = "sweep.yaml"
	k8sBaseKey   = "base.yaml"
)

// K8sObjects are the ConfigMap holding the sweep (and base) file and the
// Indexed Job whose pod i runs shard i of o.Shards, every pod writing into
// the claim mounted at the output folder. Kubernetes does the scheduling
// and the retries (a retried index skips the points it finished).
func K8sObjects(s *Sweep, o K8sOptions) (*corev1.ConfigMap, *batchv1.Job, error) {
	if o.Image == "" || o.Claim == "" {
		return nil, nil, fmt.Errorf("a Kubernetes Job needs an image (with dais in it) and a PersistentVolumeClaim for the results")
	}
	if o.Dais == "" {
		o.Dais = "dais"
	}
	cpu, err := resource.ParseQuantity(orDefault(o.CPU, "1"))
	if err != nil {
		return nil, nil, fmt.Errorf("--cpus %q: %w", o.CPU, err)
	}
	mem, err := resource.ParseQuantity(orDefault(o.Memory, "2Gi"))
	if err != nil {
		return nil, nil, fmt.Errorf("--memory %q: %w", o.Memory, err)
	}
	name := jobName(s.Name)
	labels := map[string]string{"app.kubernetes.io/name": "dais-sweep", "app.kubernetes.io/instance": name}
	meta := metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta,
		Data:       map[string]string{k8sSweepKey: string(o.SweepText)},
	}
	args := []string{"sweep", "run", k8sConfigDir + "/" + k8sSweepKey}
	if len(o.BaseText) > 0 {
		cm.Data[k8sBaseKey] = string(o.BaseText)
		args = append(args, "--base", k8sConfigDir+"/"+k8sBaseKey)
	}
	// Kubernetes expands $(JOB_COMPLETION_INDEX) from the container's
	// environment, where the env entry below puts the pod's index.
	args = append(args, "--shard", fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", o.Shards),
		"-o", k8sOutDir, "-j", strconv.FormatInt(max(cpu.Value(), 1), 10))
	completions := int32(o.Shards)
	parallelism := int32(o.Parallelism)
	if parallelism <= 0 {
		parallelism = completions
	}
	mode := batchv1.IndexedCompletion
	perIndex := int32(3)
	res := corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			CompletionMode:       &mode,
			Completions:          &completions,
			Parallelism:          &parallelism,
			BackoffLimitPerIndex: &perIndex,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:    "sweep",
						Image:   o.Image,
						Command: []string{o.Dais},
						Args:    args,
						Env: []corev1.EnvVar{{
							Name: "JOB_COMPLETION_INDEX",
							ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
								FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}},
						}},
						Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "results", MountPath: k8sOutDir, SubPath: s.Name},
							{Name: "sweep", MountPath: k8sConfigDir, ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "results", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.Claim}}},
						{Name: "sweep", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
					},
				},
			},
		},
	}
	return cm, job, nil
}

// K8sManifest is K8sObjects as a YAML stream for kubectl apply -f.
func K8sManifest(s *Sweep, o K8sOptions) ([]byte, error) {
	cm, job, err := K8sObjects(s, o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The sweep %s (%d points × %d repetitions) as a Kubernetes Indexed Job of %d pods.\n", s.Name, len(s.Points), s.Repetitions, o.Shards)
	fmt.Fprintf(&b, "# Written by `dais sweep k8s`. Pod i runs the points whose index is i mod %d and writes\n", o.Shards)
	fmt.Fprintf(&b, "# them to the claim %s (folder %s/), mounted at %s. When the Job is complete:\n", o.Claim, s.Name, k8sOutDir)
	fmt.Fprintf(&b, "#   kubectl wait --for=condition=complete job/%s --timeout=24h\n", job.Name)
	fmt.Fprintf(&b, "# then run `dais sweep merge %s` in a pod that mounts the claim (README: Sweeps).\n", k8sOutDir)
	for i, obj := range []any{cm, job} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
