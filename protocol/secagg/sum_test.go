package secagg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

const fracBits = 24

// updates draws n FedAvg updates of dim−1 values in (−0.5, 0.5) with
// weights (sample counts) in 50…250, and encodes each as the secure
// aggregation input (w·Δ, w).
func updates(tb testing.TB, n, dim int, seed uint64) (deltas [][]float64, weights []float64, inputs [][]uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	for range n {
		d := make([]float64, dim-1)
		for j := range d {
			d[j] = r.Float64() - 0.5
		}
		w := float64(50 + r.IntN(201))
		in := make([]float64, dim)
		for j, x := range d {
			in[j] = w * x
		}
		in[dim-1] = w
		e, err := Encode(in, fracBits)
		if err != nil {
			tb.Fatal(err)
		}
		deltas, weights, inputs = append(deltas, d), append(weights, w), append(inputs, e)
	}
	return deltas, weights, inputs
}

// dropouts picks ⌊share·n⌋ clients that drop after sharing.
func dropouts(n int, share float64, seed uint64) map[int]bool {
	out := map[int]bool{}
	for _, i := range rand.New(rand.NewPCG(seed, 5)).Perm(n)[:int(share*float64(n))] {
		out[i] = true
	}
	return out
}

// TestSumIsPlainFedAvg is the claim: for n = 10, 100 and 1,000 clients
// with 0%, 10% and 30% of them dropping out after sharing, the unmasked
// sum is bit for bit the sum of the survivors' fixed-point inputs, so
// that the FedAvg step it decodes to equals plain FedAvg over the same
// fixed-point updates exactly, and real FedAvg within the rounding of
// the encoding. n = 10 and 100 run X25519; n = 1,000 runs fastDH (see
// there), with 8-value vectors, in make claims.
func TestSumIsPlainFedAvg(t *testing.T) {
	for _, c := range []struct {
		n, dim int
		ka     KeyAgreement
	}{{10, 65, X25519{}}, {100, 17, X25519{}}, {1000, 8, fastDH{}}} {
		if c.n > 10 && raceEnabled {
			continue // the n = 10 run covers the same code under -race
		}
		if c.n == 1000 && (testing.Short() || os.Getenv("DAIS_CLAIMS") == "") {
			continue // 15 s of Shamir shares: make claims runs it (DAIS_CLAIMS=1)
		}
		th := 2*c.n/3 + 1
		s := share(t, c.n, th, c.dim, uint64(c.n), c.ka)
		deltas, weights, inputs := updates(t, c.n, c.dim, uint64(c.n))
		for _, drop := range []float64{0, 0.1, 0.3} {
			t.Run(fmt.Sprintf("n=%d/dropped=%v", c.n, drop), func(t *testing.T) {
				dropped := dropouts(c.n, drop, uint64(c.n))
				got, err := s.finish(inputs, dropped)
				if err != nil {
					t.Fatal(err)
				}
				plain := make([]uint64, c.dim)
				var survivors int
				for i, in := range inputs {
					if !dropped[i] {
						survivors++
						for j, x := range in {
							plain[j] += x
						}
					}
				}
				if survivors != c.n-int(drop*float64(c.n)) {
					t.Fatalf("%d survivors", survivors)
				}
				if !slices.Equal(got, plain) {
					t.Fatalf("secure sum differs from the plain sum of the fixed-point inputs")
				}
				// Decoded, the step is FedAvg's: Σ wΔ / Σ w.
				dec := Decode(got, fracBits)
				var wsum float64
				fed := make([]float64, c.dim-1)
				for i := range deltas {
					if !dropped[i] {
						wsum += weights[i]
						for j, x := range deltas[i] {
							fed[j] += weights[i] * x
						}
					}
				}
				if dec[c.dim-1] != wsum {
					t.Fatalf("weight sum %v, want %v", dec[c.dim-1], wsum)
				}
				// Each input value is rounded by at most 2^−(f+1).
				tol := float64(survivors) * math.Ldexp(1, -fracBits-1) / wsum
				for j := range fed {
					if d := math.Abs(dec[j]/wsum - fed[j]/wsum); d > tol {
						t.Fatalf("coordinate %d: secure FedAvg %v, plain %v (|diff| %g > %g)", j, dec[j]/wsum, fed[j]/wsum, d, tol)
					}
				}
			})
		}
	}
}

// TestTooManyDropoutsFailCleanly: with more than n − t dropouts after
// sharing, the coordinator cannot close the round and says why; the
// clients refuse to unmask for fewer than t survivors.
func TestTooManyDropoutsFailCleanly(t *testing.T) {
	n, th := 12, 9
	s := share(t, n, th, 5, 1, X25519{})
	_, _, inputs := updates(t, n, 5, 1)
	dropped := dropouts(n, 4.0/12, 1) // 4 > n − t = 3
	_, err := s.finish(inputs, dropped)
	var f *Failure
	if !errors.As(err, &f) || f.Phase != PhaseMasked || f.Have != 8 || f.Need != 9 {
		t.Fatalf("err = %v, want a failure at %s with 8 of 9", err, PhaseMasked)
	}
	if want := "secagg: round 7 failed at masked inputs: 8 clients, threshold 9"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// A coordinator that claims 8 survivors anyway gets no shares.
	c := *s.clients[0]
	if _, err := c.Mask(inputs[0]); err != nil {
		t.Fatal(err)
	}
	var sv []ID
	for i := range n {
		if !dropped[i] {
			sv = append(sv, s.ids[i])
		}
	}
	if !slices.Contains(sv, s.ids[0]) {
		sv = append([]ID{s.ids[0]}, sv[1:]...)
	}
	if _, err := c.Unmask(&Survivors{Round: 7, Clients: sv}); !errors.Is(err, ErrThreshold) {
		t.Errorf("unmasking for %d survivors: %v, want ErrThreshold", len(sv), err)
	}
	// Dropping after masking but before unmasking fails at unmasking.
	srv := *s.server
	srv.masked = map[ID][]uint64{}
	var live []*Client
	for i, c := range s.clients {
		cc := *c
		m, _ := cc.Mask(inputs[i])
		if err := srv.AddMasked(s.ids[i], m); err != nil {
			t.Fatal(err)
		}
		live = append(live, &cc)
	}
	surv, err := srv.CloseMasked()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range live[:th-1] {
		u, err := c.Unmask(surv)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.AddUnmask(s.ids[i], u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Sum(); !errors.As(err, &f) || f.Phase != PhaseUnmask {
		t.Fatalf("sum with %d of %d unmask answers: %v", th-1, th, err)
	}
}

// TestClientAnswersUnmaskOnce: a client never hands out both shares of
// one peer, even to a coordinator that asks twice with different
// survivors.
func TestClientAnswersUnmaskOnce(t *testing.T) {
	s := share(t, 6, 4, 3, 2, X25519{})
	c := s.clients[0]
	if _, err := c.Mask(make([]uint64, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unmask(&Survivors{Round: 7, Clients: s.ids[:5]}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unmask(&Survivors{Round: 7, Clients: s.ids[:4]}); !errors.Is(err, ErrPhase) {
		t.Fatalf("second unmask: %v, want ErrPhase", err)
	}
}
