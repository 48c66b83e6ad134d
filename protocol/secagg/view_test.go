package secagg

import (
	"bytes"
	"slices"
	"testing"
)

// TestCoordinatorViewHidesEachInput: the coordinator's view — every
// message it receives — does not determine any one client's input.
//
// Run A aggregates inputs X; run B the same clients with the same
// randomness, but x₁ + δ for client 1 and x₂ − δ for client 2 (the same
// sum), and with the pairwise mask of clients 1 and 2 taken as p₁₂ − δ
// instead of p₁₂. Since p ↦ p − δ is a bijection of Z_2⁶⁴ᵈ, a uniform p₁₂
// and p₁₂ − δ are equally likely: runs A and B are equally likely
// executions. The test shows that they give the coordinator byte-identical
// transcripts (keys, sealed shares, masked inputs, unmasking shares) and
// the same sum, so no function of the view tells x₁ from x₁ + δ: the
// view is identically distributed for any two input vectors with the same
// sum, up to the PRG (ChaCha8) being indistinguishable from uniform.
// The same holds when a third client drops out after sharing, when the
// coordinator learns that client's mask key and so every mask it shared.
func TestCoordinatorViewHidesEachInput(t *testing.T) {
	const n, th, dim = 6, 4, 5
	for _, drop := range []map[int]bool{nil, {4: true}} {
		a := share(t, n, th, dim, 42, X25519{})
		_, _, x := updates(t, n, dim, 42)
		sumA, err := a.finish(x, drop)
		if err != nil {
			t.Fatal(err)
		}

		b := share(t, n, th, dim, 42, X25519{})
		delta := []uint64{12345, 1 << 40, 7, 1<<64 - 3, 999}
		x2 := make([][]uint64, n)
		for i := range x {
			x2[i] = slices.Clone(x[i])
		}
		for j, d := range delta {
			x2[1][j] += d
			x2[2][j] -= d
		}
		u1, u2 := b.ids[1], b.ids[2] // u1 < u2: u1 adds p₁₂, u2 subtracts it
		programPair = func(u, v ID, y []uint64) {
			if (u == u1 && v == u2) || (u == u2 && v == u1) {
				for j, d := range delta {
					// p₁₂ → p₁₂ − δ: u1's +p falls by δ, u2's −p rises by δ.
					if u == u1 {
						y[j] -= d
					} else {
						y[j] += d
					}
				}
			}
		}
		sumB, err := b.finish(x2, drop)
		programPair = nil
		if err != nil {
			t.Fatal(err)
		}

		if slices.Equal(x[1], x2[1]) {
			t.Fatal("the runs do not differ in client 1's input")
		}
		if !slices.Equal(sumA, sumB) {
			t.Fatal("the sums differ")
		}
		if len(a.transcript) != len(b.transcript) {
			t.Fatalf("%d messages against %d", len(a.transcript), len(b.transcript))
		}
		for i := range a.transcript {
			if !bytes.Equal(a.transcript[i], b.transcript[i]) {
				t.Fatalf("dropped %v: message %d the coordinator received differs between the runs", drop, i)
			}
		}
		// And the view does depend on the masks: without the programming
		// the masked inputs differ (the test could not pass by ignoring
		// the inputs).
		c := share(t, n, th, dim, 42, X25519{})
		if _, err := c.finish(x2, drop); err != nil {
			t.Fatal(err)
		}
		same := true
		for i := range a.transcript {
			same = same && bytes.Equal(a.transcript[i], c.transcript[i])
		}
		if same {
			t.Fatal("different inputs with unprogrammed masks gave the same transcript")
		}
	}
}
