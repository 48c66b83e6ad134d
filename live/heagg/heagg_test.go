package heagg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// TestThresholdSum: the sum decrypted by any t members equals the plain
// sum to within CKKS's precision and the smudging noise (about 2⁻²⁰·√(tN)
// ≈ 2·10⁻⁴ on each value: CKKS is approximate, unlike masking, whose sum
// is exact); t − 1 members are refused.
func TestThresholdSum(t *testing.T) {
	c, err := NewCommittee(5, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n, dim = 6, 100
	plain := make([]float64, dim)
	var cts [][]*rlwe.Ciphertext
	for range n {
		v := make([]float64, dim)
		for j := range v {
			v[j] = r.Float64()*20 - 10
			plain[j] += v[j]
		}
		ct, err := c.Encrypt(v)
		if err != nil {
			t.Fatal(err)
		}
		cts = append(cts, ct)
	}
	sum, err := c.Add(cts)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range [][]int{{0, 1, 2}, {4, 2, 1}, {1, 3, 4}} {
		got, err := c.Decrypt(sum, q, dim)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for j := range plain {
			worst = math.Max(worst, math.Abs(got[j]-plain[j]))
		}
		t.Logf("quorum %v: largest error %.2g", q, worst)
		if worst > 1e-3 {
			t.Fatalf("quorum %v: a value decrypts %.2g off the plain sum", q, worst)
		}
	}
	if _, err := c.Decrypt(sum, []int{0, 1}, dim); !errors.Is(err, ErrQuorum) {
		t.Fatalf("two of three: %v", err)
	}
}

// BenchmarkRound is one aggregation of n learners' MLP updates (4,810
// parameters and a weight): ns/op is the whole round; the metrics split
// it into the process CPU time (getrusage) one learner spends encrypting,
// the coordinator adding, and decryption by t = 7 of K = 10 members
// (every member's share and the combination), with the bytes each
// learner sends.
func BenchmarkRound(b *testing.B) {
	c, err := NewCommittee(10, 7)
	if err != nil {
		b.Fatal(err)
	}
	v := make([]float64, 4811)
	for i := range v {
		v[i] = float64(i%7) * 0.01
	}
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			var enc, add, dec time.Duration
			var bytes int
			for b.Loop() {
				t0 := cpuTime()
				one, err := c.Encrypt(v)
				if err != nil {
					b.Fatal(err)
				}
				enc += cpuTime() - t0
				bytes = Bytes(one)
				all := make([][]*rlwe.Ciphertext, n)
				for i := range all {
					all[i] = one // the same ciphertext n times: adding costs the same
				}
				t1 := cpuTime()
				sum, err := c.Add(all)
				if err != nil {
					b.Fatal(err)
				}
				add += cpuTime() - t1
				t2 := cpuTime()
				if _, err := c.Decrypt(sum, []int{0, 1, 2, 3, 4, 5, 6}, len(v)); err != nil {
					b.Fatal(err)
				}
				dec += cpuTime() - t2
			}
			k := float64(b.N)
			b.ReportMetric(enc.Seconds()*1e3/k, "learner-encrypt-ms")
			b.ReportMetric(add.Seconds()*1e3/k, "coord-add-ms")
			b.ReportMetric(dec.Seconds()*1e3/k, "quorum-decrypt-ms")
			b.ReportMetric(float64(bytes), "bytes/learner")
		})
	}
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine other processes stretch the wall clock, not this.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
