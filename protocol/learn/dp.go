package learn

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// DP is DP-FedAvg's aggregation (McMahan et al. 2018, "Learning
// Differentially Private Recurrent Language Models"): every update is
// clipped to an L2 norm of at most Clip, the clipped updates are averaged
// with equal weights (so that one learner moves the mean by at most
// Clip/n, whatever its sample count), and Gaussian noise with standard
// deviation Sigma·Clip/n is added to each coordinate. Sigma is the noise
// multiplier: the noise's standard deviation over the sum's sensitivity.
//
// The noise is drawn from a stream seeded by Seed and a hash of the
// round's updates, so every member of an aggregator committee that holds
// the same updates draws the same noise (and commits the same version),
// while two rounds never share it. In a deployment Seed would be a
// committee secret; in the simulator it derives from the run's seed.
type DP struct {
	Clip, Sigma float64
	Seed        uint64
}

// Name is the rule's name in reports.
func (d DP) Name() string { return fmt.Sprintf("dp-fedavg(clip %g, σ %g)", d.Clip, d.Sigma) }

// Aggregate clips, averages and adds the noise.
func (d DP) Aggregate(us []Update) ([]float64, error) {
	dim, err := check(us)
	if err != nil {
		return nil, err
	}
	if !(d.Clip > 0) || !(d.Sigma >= 0) {
		return nil, fmt.Errorf("%w: dp clip %v, noise multiplier %v: want clip > 0 and σ >= 0", ErrRule, d.Clip, d.Sigma)
	}
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], d.Seed)
	h.Write(b[:])
	out := make([]float64, dim)
	for _, u := range us {
		c := ClipNorm(u.Delta, d.Clip)
		for i, x := range c {
			out[i] += x
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(u.Delta[i]))
			h.Write(b[:])
		}
	}
	n := float64(len(us))
	for i := range out {
		out[i] /= n
	}
	sum := h.Sum(nil)
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	GaussianNoise(out, d.Sigma, d.Clip, len(us), r)
	return out, nil
}

// Epsilon is ε of the (ε, δ) user-level differential privacy that rounds
// rounds of DP give a learner, the models released being what is
// protected: neighbouring runs differ in one learner's whole data, which
// replaces that learner's update in each round it takes part in. The
// number of updates n is public (Committed.Updates), so it is fixed
// between neighbours, and replacing one clipped update moves the sum by up
// to 2·Clip: the noise, sd Sigma·Clip on the sum, is Sigma/2 times the
// sensitivity. ε covers the committed models only, not the validators'
// scores or the payouts, which are computed from the raw updates and are
// public too.
func (d DP) Epsilon(rounds int, delta float64) float64 { return Epsilon(d.Sigma/2, rounds, delta) }

// Epsilon is ε of the (ε, δ)-DP of rounds compositions of the Gaussian
// mechanism whose noise is sigma times the query's L2 sensitivity: Rényi
// DP α/(2σ²) per round (Mironov 2017), composed over the rounds and
// converted with ε = min over α > 1 of rounds·α/(2σ²) + ln(1/δ)/(α−1),
// which is rounds/(2σ²) + √(2·rounds·ln(1/δ))/σ. It counts every round
// and no amplification by sampling, so when fewer than all learners train
// each round it is an upper bound. σ = 0 (no noise) is +Inf; δ outside
// (0, 1) is NaN.
func Epsilon(sigma float64, rounds int, delta float64) float64 {
	if !(delta > 0 && delta < 1) {
		return math.NaN()
	}
	if !(sigma > 0) {
		return math.Inf(1)
	}
	t := float64(rounds)
	return t/(2*sigma*sigma) + math.Sqrt(2*t*math.Log(1/delta))/sigma
}
