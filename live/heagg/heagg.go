// Package heagg is homomorphic aggregation of federated updates, the
// alternative to secure aggregation's masking (protocol/secagg): each
// learner encrypts its update under the collective public key of a key
// committee (CKKS, github.com/tuneinsight/lattigo/v5), the coordinator
// adds the ciphertexts without learning anything, and any t of the K
// committee members decrypt the sum together (threshold key switching to
// the zero key); no fewer can, and none sees an individual update.
//
// Unlike masking, a learner that drops out costs nothing — its ciphertext
// is simply not added — and the learners need no keys of their own or
// rounds of sharing; the price is ciphertexts several times the size of
// the update and heavier arithmetic (BENCHMARKS.md measures both).
//
// It lives beside the live runtime, not in protocol/, because lattigo
// draws its noise from crypto/rand inside its protocols: its results
// differ in the last bits from run to run, which a simulated run's
// byte-identical metrics cannot carry. Simulated runs use secagg; this
// package is measured by its benchmarks.
//
//	c, _ := heagg.NewCommittee(10, 7)                 // key generation among K = 10 members
//	ct, _ := c.Encrypt(update)                        // each learner
//	sum, _ := c.Add(cts)                              // the coordinator
//	plain, _ := c.Decrypt(sum, []int{0, 2, 3, 5, 6, 8, 9}, len(update)) // any t members
package heagg

import (
	"errors"
	"fmt"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/mhe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// Literal is the CKKS parameter set: N = 2¹⁴ (8,192 slots: the optdigits
// MLP's 4,810 parameters and a weight in one ciphertext), one 60-bit
// modulus (sums need no multiplications, so no levels) and a 61-bit P
// for key switching; log QP = 121, well inside 128-bit security for
// N = 2¹⁴. Values are scaled by 2⁴⁰, leaving ±2¹⁹ for sums.
var Literal = ckks.ParametersLiteral{LogN: 14, LogQ: []int{60}, LogP: []int{61}, LogDefaultScale: 40}

// smudging is the noise each member adds to its decryption share, so that
// the shares reveal nothing of its key: σ = 2²⁰, an error of about
// 2²⁰·√(t·N) / 2⁴⁰ ≈ 2·10⁻⁴ on each decrypted value for t = 3.
var smudging = ring.DiscreteGaussian{Sigma: 1 << 20, Bound: 6 << 20}

// Committee holds the key committee's keys: in a deployment each member
// would hold only its own; here one value holds them all, to measure.
type Committee struct {
	params ckks.Parameters
	k, t   int
	points []mhe.ShamirPublicPoint
	tsk    []mhe.ShamirSecretShare // member i's threshold share of the collective key
	pk     *rlwe.PublicKey
	enc    *rlwe.Encryptor
	ecd    *ckks.Encoder
	eval   *ckks.Evaluator
}

// ErrQuorum means fewer than t members, or unknown ones, were asked to
// decrypt.
var ErrQuorum = errors.New("heagg: not a quorum of the key committee")

// NewCommittee runs the key generation of k members with threshold t:
// each draws a secret key; their shares of the collective public key are
// summed; each Shamir-shares its secret among the others, so that any t
// of them hold additive shares of the collective secret.
func NewCommittee(k, t int) (*Committee, error) {
	if t < 1 || t > k {
		return nil, fmt.Errorf("heagg: threshold %d of %d members", t, k)
	}
	params, err := ckks.NewParametersFromLiteral(Literal)
	if err != nil {
		return nil, err
	}
	c := &Committee{params: params, k: k, t: t}
	kg := rlwe.NewKeyGenerator(params)
	crs, err := sampling.NewPRNG()
	if err != nil {
		return nil, err
	}
	ckg := mhe.NewPublicKeyGenProtocol(params)
	crp := ckg.SampleCRP(crs)
	agg := ckg.AllocateShare()
	sks := make([]*rlwe.SecretKey, k)
	for i := range sks {
		sks[i] = kg.GenSecretKeyNew()
		sh := ckg.AllocateShare()
		ckg.GenShare(sks[i], crp, &sh)
		if i == 0 {
			agg = sh
		} else {
			ckg.AggregateShares(agg, sh, &agg)
		}
		c.points = append(c.points, mhe.ShamirPublicPoint(i+1))
	}
	c.pk = rlwe.NewPublicKey(params)
	ckg.GenPublicKey(agg, crp, c.pk)

	thr := mhe.NewThresholdizer(params)
	c.tsk = make([]mhe.ShamirSecretShare, k)
	for i := range c.tsk {
		c.tsk[i] = thr.AllocateThresholdSecretShare()
	}
	for i := range sks {
		poly, err := thr.GenShamirPolynomial(t, sks[i])
		if err != nil {
			return nil, err
		}
		for j := range c.tsk {
			sh := thr.AllocateThresholdSecretShare()
			thr.GenShamirSecretShare(c.points[j], poly, &sh)
			if err := thr.AggregateShares(c.tsk[j], sh, &c.tsk[j]); err != nil {
				return nil, err
			}
		}
	}
	c.enc = rlwe.NewEncryptor(params, c.pk)
	c.ecd = ckks.NewEncoder(params)
	c.eval = ckks.NewEvaluator(params, nil)
	return c, nil
}

// Slots is how many values one ciphertext carries.
func (c *Committee) Slots() int { return c.params.MaxSlots() }

// Encrypt encrypts a learner's vector under the collective key: one
// ciphertext per Slots values.
func (c *Committee) Encrypt(v []float64) ([]*rlwe.Ciphertext, error) {
	var out []*rlwe.Ciphertext
	for len(v) > 0 {
		k := min(len(v), c.Slots())
		pt := ckks.NewPlaintext(c.params, c.params.MaxLevel())
		if err := c.ecd.Encode(v[:k], pt); err != nil {
			return nil, err
		}
		ct, err := c.enc.EncryptNew(pt)
		if err != nil {
			return nil, err
		}
		out, v = append(out, ct), v[k:]
	}
	return out, nil
}

// Bytes is the size of a learner's ciphertexts on the wire.
func Bytes(cts []*rlwe.Ciphertext) int {
	n := 0
	for _, ct := range cts {
		n += ct.BinarySize()
	}
	return n
}

// Add sums the learners' ciphertexts: what the coordinator does, seeing
// nothing.
func (c *Committee) Add(all [][]*rlwe.Ciphertext) ([]*rlwe.Ciphertext, error) {
	if len(all) == 0 {
		return nil, errors.New("heagg: nothing to add")
	}
	sum := make([]*rlwe.Ciphertext, len(all[0]))
	for i, ct := range all[0] {
		sum[i] = ct.CopyNew()
	}
	for _, cts := range all[1:] {
		if len(cts) != len(sum) {
			return nil, errors.New("heagg: vectors of different lengths")
		}
		for i, ct := range cts {
			if err := c.eval.Add(sum[i], ct, sum[i]); err != nil {
				return nil, err
			}
		}
	}
	return sum, nil
}

// Decrypt has the quorum (member indices, t or more of them) decrypt the
// sum: each turns its threshold share into an additive share of the
// collective key for this quorum and sends a key-switching share towards
// the zero key; the coordinator adds the shares, switches and decodes
// the first n values.
func (c *Committee) Decrypt(sum []*rlwe.Ciphertext, quorum []int, n int) ([]float64, error) {
	if len(quorum) < c.t {
		return nil, ErrQuorum
	}
	active := make([]mhe.ShamirPublicPoint, 0, len(quorum))
	for _, i := range quorum[:c.t] {
		if i < 0 || i >= c.k {
			return nil, ErrQuorum
		}
		active = append(active, c.points[i])
	}
	zero := rlwe.NewSecretKey(c.params)
	out := make([]float64, 0, n)
	shares := make([]*rlwe.SecretKey, c.t)
	for j, i := range quorum[:c.t] {
		cmb := mhe.NewCombiner(*c.params.GetRLWEParameters(), c.points[i], c.points, c.t)
		shares[j] = rlwe.NewSecretKey(c.params)
		if err := cmb.GenAdditiveShare(active, c.points[i], c.tsk[i], shares[j]); err != nil {
			return nil, err
		}
	}
	dec := rlwe.NewDecryptor(c.params, zero)
	for _, ct := range sum {
		cks, err := mhe.NewKeySwitchProtocol(c.params, smudging)
		if err != nil {
			return nil, err
		}
		agg := cks.AllocateShare(ct.Level())
		for j := range shares {
			sh := cks.AllocateShare(ct.Level())
			cks.GenShare(shares[j], zero, ct, &sh)
			if err := cks.AggregateShares(agg, sh, &agg); err != nil {
				return nil, err
			}
		}
		res := ckks.NewCiphertext(c.params, 1, ct.Level())
		cks.KeySwitch(ct, agg, res)
		pt := dec.DecryptNew(res)
		vals := make([]float64, c.Slots())
		if err := c.ecd.Decode(pt, vals); err != nil {
			return nil, err
		}
		out = append(out, vals[:min(n-len(out), len(vals))]...)
	}
	return out, nil
}
