package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseShard reads --shard: "i/n" runs shard i of n (0 ≤ i < n); "/n"
// takes i from the batch system's environment: JOB_COMPLETION_INDEX (a
// Kubernetes Indexed Job), else SLURM_ARRAY_TASK_ID less
// SLURM_ARRAY_TASK_MIN (a Slurm job array, which may start at 1). getenv
// is os.Getenv outside tests.
func ParseShard(spec string, getenv func(string) string) (Shard, error) {
	idx, count, ok := strings.Cut(spec, "/")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 {
		return Shard{}, fmt.Errorf("--shard %s: want i/n (shard i of n, from 0) or /n (i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID)", spec)
	}
	var i int
	if idx != "" {
		if i, err = strconv.Atoi(idx); err != nil {
			return Shard{}, fmt.Errorf("--shard %s: %q is not a shard index", spec, idx)
		}
	} else if i, err = envIndex(n, getenv); err != nil {
		return Shard{}, fmt.Errorf("--shard %s: %w", spec, err)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %s: the index %d is not in [0, %d)", spec, i, n)
	}
	return Shard{Index: i, Count: n}, nil
}

func envIndex(n int, getenv func(string) string) (int, error) {
	if v := getenv("JOB_COMPLETION_INDEX"); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("JOB_COMPLETION_INDEX=%q is not a number", v)
		}
		return i, nil
	}
	v := getenv("SLURM_ARRAY_TASK_ID")
	if v == "" {
		return 0, fmt.Errorf("no shard index: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm job array) is set; write --shard i/%d", n)
	}
	id, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q is not a number", v)
	}
	lo := 0
	if m := getenv("SLURM_ARRAY_TASK_MIN"); m != "" {
		if lo, err = strconv.Atoi(m); err != nil {
			return 0, fmt.Errorf("SLURM_ARRAY_TASK_MIN=%q is not a number", m)
		}
	}
	if c := getenv("SLURM_ARRAY_TASK_COUNT"); c != "" && c != strconv.Itoa(n) {
		return 0, fmt.Errorf("the Slurm array has %s tasks, not %d: submit it with --array=0-%d, or write --shard /%s", c, n, n-1, c)
	}
	if step := getenv("SLURM_ARRAY_TASK_STEP"); step != "" && step != "1" {
		return 0, fmt.Errorf("the Slurm array steps by %s: shard indexes must be consecutive (--array=0-%d)", step, n-1)
	}
	return id - lo, nil
}
