package rewards

import "fmt"

// SybilSetup is the world in which SybilGain pits one GPU against honest
// providers: one period's emission and the verified work of everyone.
type SybilSetup struct {
	// Emission is the period's pot (fees included, if any).
	Emission Tokens
	// AttackerFLOPs is what the attacker's one GPU verifiably computes in
	// the period, whatever number of identities it reports under.
	AttackerFLOPs uint64
	// Honest providers, each one identity with HonestFLOPs of verified work.
	HonestProviders int
	HonestFLOPs     uint64
}

// SybilGain returns the Sybil gain of k identities under policy p: what an
// attacker earns when it splits one GPU's verified work across k
// identities, divided by what it earns as one identity with the same GPU,
// everything else equal (DESIGN.md's "reward of k identities ÷ reward of
// one identity with the same resources").
//
// It computes both from first principles, with Distribute: the work is
// split as evenly as integers allow (the first AttackerFLOPs mod k
// identities do one FLOP more), and the attacker's reward is the sum over
// its identities of compute and participation payments. Under WorkBased
// the gain is 1 up to k base units of rounding; under PerIdentity each
// extra identity collects one more ParticipationReward, so the gain grows
// with k. The result is a float for reports; the payouts behind it are
// exact.
func SybilGain(p Policy, k int, s SybilSetup) (float64, error) {
	if k < 1 || s.HonestProviders < 0 {
		return 0, fmt.Errorf("%w: Sybil gain of %d identities against %d honest providers", ErrInput, k, s.HonestProviders)
	}
	one, err := sybilReward(p, 1, s)
	if err != nil {
		return 0, err
	}
	if one == 0 {
		return 0, fmt.Errorf("%w: one identity earns nothing, so the gain is undefined", ErrInput)
	}
	many, err := sybilReward(p, k, s)
	if err != nil {
		return 0, err
	}
	return float64(many) / float64(one), nil
}

// sybilReward is what the attacker's k identities earn in one period.
func sybilReward(p Policy, k int, s SybilSetup) (Tokens, error) {
	d, err := NewDistributor(p)
	if err != nil {
		return 0, err
	}
	pd := Period{Height: 1, Emission: s.Emission}
	mine := map[Account]bool{}
	for i := range k {
		a := Account(fmt.Sprintf("sybil/%06d", i))
		mine[a] = true
		f := s.AttackerFLOPs / uint64(k)
		if uint64(i) < s.AttackerFLOPs%uint64(k) {
			f++
		}
		pd.Work = append(pd.Work, VerifiedWork{Provider: a, FLOPs: f})
	}
	for i := range s.HonestProviders {
		pd.Work = append(pd.Work, VerifiedWork{Provider: Account(fmt.Sprintf("honest/%06d", i)), FLOPs: s.HonestFLOPs})
	}
	out, err := d.Distribute(pd)
	if err != nil {
		return 0, err
	}
	var r Tokens
	for _, ps := range [][]Payment{out.Compute, out.Participation} {
		for _, pay := range ps {
			if mine[pay.To] {
				r += pay.Amount
			}
		}
	}
	return r, nil
}
