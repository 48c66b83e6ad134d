package govern

import (
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/protocol/rewards"
)

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		text string
		dec  uint8
		want int64
	}{
		{"1.5", 9, 1_500_000_000}, {"0.05", 6, 50_000}, {"-3", 0, -3}, {"1_000", 0, 1000},
		{"0", 9, 0}, {" 7 ", 2, 700}, {"9223372036854775807", 0, 1<<63 - 1}, {"-9.223372036854775808", 18, -1 << 63},
	} {
		got, err := ParseValue(c.text, c.dec)
		if err != nil || got != c.want {
			t.Errorf("ParseValue(%q, %d) = %d, %v; want %d", c.text, c.dec, got, err, c.want)
		}
	}
	for _, c := range []struct {
		text string
		dec  uint8
	}{{"", 0}, {"1.", 3}, {".5", 3}, {"1.25", 1}, {"+1", 0}, {"1e3", 0}, {"0x10", 0}, {"9223372036854775808", 0}, {"--1", 0}, {"1.2.3", 5}} {
		if _, err := ParseValue(c.text, c.dec); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseValue(%q, %d): %v, want ErrBadValue", c.text, c.dec, err)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		v, dec := rapid.Int64().Draw(t, "v"), uint8(rapid.IntRange(0, 18).Draw(t, "dec"))
		if got, err := ParseValue(FormatValue(v, dec), dec); err != nil || got != v {
			t.Fatalf("%d at %d places → %q → %d, %v", v, dec, FormatValue(v, dec), got, err)
		}
	})
	if s := FormatValue(1_500_000_000, 9); s != "1.5" {
		t.Errorf("FormatValue = %q", s)
	}
}

func TestRegistry(t *testing.T) {
	reg, err := DefaultRegistry(rewards.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	keys := reg.Defaults().Keys()
	if !slices.IsSorted(keys) || len(keys) != len(rewards.ParamKeys())+1 {
		t.Errorf("keys %v", keys)
	}
	c, err := reg.Change(rewards.ParamEmissionPerBlock, "2.5")
	if err != nil || c.Value != 2_500_000_000 {
		t.Errorf("Change(emission, 2.5) = %+v, %v", c, err)
	}
	if c, err := reg.Change(ParamSpotCheck, "0.1"); err != nil || c.Value != 100_000 {
		t.Errorf("Change(spot check, 0.1) = %+v, %v", c, err)
	}
	if _, err := reg.Change(ParamSpotCheck, "1.5"); !errors.Is(err, ErrOutOfBounds) {
		t.Errorf("spot check 1.5: %v", err)
	}
	if _, err := reg.Change("rewards.nope", "1"); !errors.Is(err, ErrUnknownParam) {
		t.Errorf("unknown: %v", err)
	}
	if v := reg.Defaults().Get(rewards.ParamShareCompute); v != 6000 {
		t.Errorf("default compute share %d", v)
	}
	for name, ps := range map[string][]Param{
		"bad key":       {{Key: "NoDots", Max: 1}},
		"one segment":   {{Key: "rewards", Max: 1}},
		"twice":         {{Key: "a.b", Max: 1}, {Key: "a.b", Max: 1}},
		"default above": {{Key: "a.b", Max: 1, Default: 2}},
		"decimals":      {{Key: "a.b", Max: 1, Decimals: 19}},
	} {
		if _, err := NewRegistry(nil, ps...); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := NewRegistry(func(Params) error { return errors.New("no") }, Param{Key: "a.b", Max: 1}); !errors.Is(err, ErrConfig) {
		t.Errorf("defaults breaking the rule: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Get of an unknown key did not panic")
		}
	}()
	reg.Defaults().Get("x.y")
}
