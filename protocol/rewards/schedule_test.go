package rewards

import (
	"errors"
	"math/bits"
	"testing"

	"pgregory.net/rapid"
)

// totals returns Total(0 … n) and checks each against Σ Emission.
func totals(t *testing.T, s Schedule, n uint64) []Tokens {
	t.Helper()
	out := []Tokens{s.Total(0)}
	var sum Tokens
	for h := uint64(1); h <= n; h++ {
		sum += s.Emission(h)
		if got := s.Total(h); got != sum {
			t.Fatalf("Total(%d) = %d, Σ Emission = %d", h, got, sum)
		}
		out = append(out, sum)
	}
	if s.Emission(0) != 0 || out[0] != 0 {
		t.Fatalf("height 0 mints %d (total %d), want 0", s.Emission(0), out[0])
	}
	return out
}

func eq(t *testing.T, what string, got, want []Tokens) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: %v, want %v (first difference at %d)", what, got, want, i)
		}
	}
}

func TestFixed(t *testing.T) {
	eq(t, "fixed totals", totals(t, Fixed{PerBlock: 7}, 4), []Tokens{0, 7, 14, 21, 28})
	if got := (Fixed{PerBlock: Token}).Total(1 << 40); got != ^Tokens(0) {
		t.Errorf("Total past the Tokens range = %d, want saturation at %d", got, ^Tokens(0))
	}
}

func TestHalvingByHand(t *testing.T) {
	s, err := NewHalving(100, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 100 100 100 | 50 50 50 | 25 25 25 | 12 12 12 | 6 …
	eq(t, "halving totals", totals(t, s, 13),
		[]Tokens{0, 100, 200, 300, 350, 400, 450, 475, 500, 525, 537, 549, 561, 567})
	// Everything ever: 3·(2·100 − popcount(100)) = 3·(200 − 3) = 591.
	if got := s.Total(1 << 20); got != 591 {
		t.Errorf("all-time total %d, want 591", got)
	}
	if got := s.Emission(3*64 + 1); got != 0 {
		t.Errorf("emission after 64 halvings = %d, want 0", got)
	}
}

// TestHalvingBound holds the all-time total to the known bound: at most
// 2·initial·interval, short of it by interval·popcount(initial) ≤
// 64·interval.
func TestHalvingBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		initial := Tokens(rapid.Uint64Range(0, 1<<40).Draw(t, "initial"))
		interval := rapid.Uint64Range(1, 1<<20).Draw(t, "interval")
		s, err := NewHalving(initial, interval)
		if err != nil {
			t.Fatal(err)
		}
		all := s.Total(^uint64(0))
		bound := 2 * uint64(initial) * interval
		short := interval * uint64(bits.OnesCount64(uint64(initial)))
		if uint64(all) != bound-short || uint64(all) > bound || bound-uint64(all) > 64*interval {
			t.Fatalf("all-time total %d, bound %d, short by %d, want short by %d", all, bound, bound-uint64(all), short)
		}
		// Total agrees with Σ Emission across era boundaries.
		h := rapid.Uint64Range(1, 70*interval).Draw(t, "h")
		era := (h - 1) / interval
		var sum Tokens
		for e := uint64(0); e < era; e++ {
			sum += Tokens(interval) * (initial >> e)
		}
		sum += Tokens(h-era*interval) * (initial >> min(era, 63))
		if era >= 64 {
			sum = all
		}
		if got := s.Total(h); got != sum {
			t.Fatalf("Total(%d) = %d, by eras %d", h, got, sum)
		}
	})
}

func TestHalvingRejects(t *testing.T) {
	if _, err := NewHalving(1, 0); !errors.Is(err, ErrSchedule) {
		t.Errorf("interval 0: %v, want ErrSchedule", err)
	}
	if _, err := NewHalving(1<<62, 4); !errors.Is(err, ErrSchedule) {
		t.Errorf("overflowing total: %v, want ErrSchedule", err)
	}
	if _, err := NewHalving(1<<62, 1); err != nil {
		t.Errorf("2^62 once: %v, want it to fit (total 2^63 − 1)", err)
	}
}

func TestExponentialByHand(t *testing.T) {
	// 1000 decaying by 1/10: S(h) = 10,000·(1 − 0.9^h):
	// 1000, 1900, 2710, 3439, 4095.1, 4685.59, 5217.031.
	d, err := NewExponentialDecay(1000, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "decay totals", totals(t, d, 7), []Tokens{0, 1000, 1900, 2710, 3439, 4095, 4685, 5217})
	if d.Limit() != 10_000 {
		t.Errorf("limit %d, want 10000", d.Limit())
	}
	// Halving every block: S(h) = 2000·(1 − 2^−h): 1000, 1500, 1750, 1875, 1937.5.
	h, err := NewExponentialDecay(1000, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "rate 1/2 totals", totals(t, h, 5), []Tokens{0, 1000, 1500, 1750, 1875, 1937})
	for _, far := range []uint64{64, 1 << 40, 1<<64 - 1} {
		if got := h.Total(far); got < 1999 || got > 2000 {
			t.Errorf("Total(%d) = %d, want 1999 or 2000 (S → 2000 from below)", far, got)
		}
	}
}

// TestExponentialMonotone checks, for random parameters and heights, that
// the total never decreases, never exceeds the limit, and that emissions
// never increase (the series decays).
func TestExponentialMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		den := rapid.Uint64Range(2, MaxDecayDen).Draw(t, "den")
		num := rapid.Uint64Range(1, den-1).Draw(t, "num")
		initial := Tokens(rapid.Uint64Range(0, 1_000_000*uint64(Token)).Draw(t, "initial"))
		d, err := NewExponentialDecay(initial, num, den)
		if errors.Is(err, ErrSchedule) {
			t.Skip("total does not fit")
		}
		if err != nil {
			t.Fatal(err)
		}
		h := rapid.Uint64Range(1, 1<<50).Draw(t, "h")
		a, b, c := d.Total(h-1), d.Total(h), d.Total(h+1)
		if a > b || b > c || c > d.Limit() {
			t.Fatalf("totals %d, %d, %d around %d exceed or break order with limit %d", a, b, c, h, d.Limit())
		}
		// Emissions decay, up to one unit of rounding of the total.
		if e1, e2 := b-a, c-b; e2 > e1+1 {
			t.Fatalf("emission rose from %d at %d to %d", e1, h, e2)
		}
		if d.Emission(1) != initial {
			t.Fatalf("first block mints %d, want %d", d.Emission(1), initial)
		}
	})
}

func TestExponentialRejects(t *testing.T) {
	for _, c := range []struct{ num, den uint64 }{{0, 10}, {10, 10}, {11, 10}, {1, MaxDecayDen + 1}} {
		if _, err := NewExponentialDecay(1, c.num, c.den); !errors.Is(err, ErrSchedule) {
			t.Errorf("rate %d/%d: %v, want ErrSchedule", c.num, c.den, err)
		}
	}
	if _, err := NewExponentialDecay(Token, 1, MaxDecayDen); !errors.Is(err, ErrSchedule) {
		t.Errorf("total 10^27 base units: %v, want ErrSchedule", err)
	}
}

func TestHalfLifeRate(t *testing.T) {
	num, den, err := HalfLifeRate(1)
	if err != nil || num != den/2 {
		t.Fatalf("half-life 1: %d/%d, %v; want 1/2", num, den, err)
	}
	// 1 − 2^(−1/1000) = 6.9290701 … × 10⁻⁴.
	num, den, err = HalfLifeRate(1000)
	if err != nil {
		t.Fatal(err)
	}
	if num/1e9 != 692_907 {
		t.Errorf("half-life 1000: rate %d/%d, want 0.000692907…", num, den)
	}
	initial := 1000 * Token
	d, err := NewExponentialDecay(initial, num, den)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []uint64{1, 2, 5} {
		got, want := d.Emission(k*1000+1), initial>>k
		if diff := int64(got) - int64(want); diff < -1 || diff > 1 {
			t.Errorf("emission after %d half-lives = %d, want %d ± 1", k, got, want)
		}
	}
	if _, _, err := HalfLifeRate(0); !errors.Is(err, ErrSchedule) {
		t.Errorf("half-life 0: %v, want ErrSchedule", err)
	}
}

func TestCapped(t *testing.T) {
	c := Capped{Inner: Fixed{PerBlock: 7}, Cap: 100}
	tot := totals(t, c, 20)
	// 14 blocks of 7 = 98; block 15 mints the 2 left; then nothing.
	if tot[14] != 98 || c.Emission(15) != 2 || c.Emission(16) != 0 || tot[20] != 100 {
		t.Fatalf("capped totals %v, emission(15) = %d", tot, c.Emission(15))
	}
	rapid.Check(t, func(t *rapid.T) {
		initial := Tokens(rapid.Uint64Range(1, 1<<30).Draw(t, "initial"))
		interval := rapid.Uint64Range(1, 1000).Draw(t, "interval")
		h, _ := NewHalving(initial, interval)
		limit := h.Total(^uint64(0))
		cp := Tokens(rapid.Uint64Range(0, uint64(limit)).Draw(t, "cap"))
		c := Capped{Inner: h, Cap: cp}
		if got := c.Total(^uint64(0)); got != cp {
			t.Fatalf("capped all-time total %d, want the cap %d", got, cp)
		}
		k := rapid.Uint64Range(1, 80*interval).Draw(t, "h")
		if c.Total(k) != c.Total(k-1)+c.Emission(k) || c.Emission(k) > h.Emission(k) {
			t.Fatalf("at %d: capped emission %d, inner %d", k, c.Emission(k), h.Emission(k))
		}
	})
}

func TestEmissionSpec(t *testing.T) {
	for _, c := range []struct {
		spec EmissionSpec
		h    uint64
		want Tokens
	}{
		{EmissionSpec{Kind: KindFixed, Initial: 5}, 10, 50},
		{EmissionSpec{Kind: KindHalving, Initial: 100, HalvingBlocks: 3}, 13, 567},
		{EmissionSpec{Kind: KindExponential, Initial: 1000, DecayNum: 1, DecayDen: 10}, 3, 2710},
		{EmissionSpec{Kind: KindFixed, Initial: 5, Cap: 12}, 10, 12},
	} {
		s, err := c.spec.Schedule()
		if err != nil {
			t.Fatalf("%+v: %v", c.spec, err)
		}
		if got := s.Total(c.h); got != c.want {
			t.Errorf("%+v: Total(%d) = %d, want %d", c.spec, c.h, got, c.want)
		}
		if f := Func(s); f(c.h) != uint64(s.Emission(c.h)) {
			t.Errorf("Func disagrees with Emission at %d", c.h)
		}
	}
	if _, err := (EmissionSpec{Kind: "linear"}).Schedule(); !errors.Is(err, ErrSchedule) {
		t.Errorf("unknown kind: %v, want ErrSchedule", err)
	}
}
