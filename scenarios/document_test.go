package scenarios

import (
	"errors"
	"strings"
	"testing"
)

type testDoc struct {
	Base   string     `yaml:"base" required:"true" doc:"The base scenario."`
	Seed   uint64     `yaml:"seed" default:"1" doc:"Seed."`
	Jobs   int        `yaml:"jobs" default:"2" min:"1" max:"64" doc:"Workers."`
	Mode   string     `yaml:"mode" default:"grid" enum:"grid|zip" doc:"Mode."`
	Values []RawValue `yaml:"values" doc:"Any values."`
	One    RawValue   `yaml:"one" doc:"One value."`
}

func TestDecodeDocument(t *testing.T) {
	var d testDoc
	doc, err := Decode("s.yaml", []byte("base: quickstart\nvalues: [1, 2ms, \"x y\", {dist: fixed, value: 3}, [a, b]]\none: {a: 1}\n"), &d, "a test file")
	if err != nil {
		t.Fatal(err)
	}
	if d.Seed != 1 || d.Jobs != 2 || d.Mode != "grid" || d.Base != "quickstart" {
		t.Errorf("defaults: %+v", d)
	}
	want := []string{"1", "2ms", `"x y"`, "{dist: fixed, value: 3}", "[a, b]"}
	for i, v := range d.Values {
		if v.Text != want[i] {
			t.Errorf("values[%d] = %q, want %q", i, v.Text, want[i])
		}
	}
	if d.Values[1].Pos.Line != 2 || d.One.Text != "{a: 1}" {
		t.Errorf("positions or mapping: %+v %+v", d.Values[1], d.One)
	}
	if p := doc.At("one"); p.Line != 3 {
		t.Errorf("At(one) = %v", p)
	}
	_, err = Decode("s.yaml", []byte("bsae: x\njobs: 99\nmode: zpi\n"), &d, "a test file")
	var es Errors
	if !errors.As(err, &es) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("want Errors, got %v", err)
	}
	msg := err.Error()
	for _, w := range []string{"s.yaml:1:1: bsae: unknown key", "s.yaml:2:7: jobs: 99 is out of range", `s.yaml:3:7: mode: "zpi" is not allowed`, "base: missing"} {
		if !strings.Contains(msg, w) {
			t.Errorf("errors lack %q:\n%s", w, msg)
		}
	}
	if s := string(DocumentSchema(&d, "id", "t", "d")); !strings.Contains(s, `"values"`) || !strings.Contains(s, `"enum"`) {
		t.Errorf("schema: %s", s)
	}
}

func TestDecodeSettings(t *testing.T) {
	var d struct {
		Set Settings `yaml:"set" doc:"Overrides."`
	}
	_, err := Decode("s.yaml", []byte("set:\n  run.duration: 2m\n  network.jitter: {dist: exponential, mean: 5ms}\n"), &d, "a test file")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Set) != 2 || d.Set[0].Override() != "run.duration=2m" || d.Set[1].Override() != "network.jitter={dist: exponential, mean: 5ms}" {
		t.Fatalf("settings: %+v", d.Set)
	}
	if d.Set[1].KeyPos.Line != 3 || d.Set[1].KeyPos.Col != 3 || d.Set[0].Value.Pos.Col != 17 {
		t.Errorf("positions: %+v", d.Set)
	}
	_, err = Decode("s.yaml", []byte("set: [a, b]\n"), &d, "a test file")
	if err == nil || !strings.Contains(err.Error(), "s.yaml:1:6: set: want a mapping of key paths") {
		t.Errorf("a list for set: %v", err)
	}
	if s := string(DocumentSchema(&d, "id", "t", "d")); !strings.Contains(s, `"additionalProperties": {}`) {
		t.Errorf("schema: %s", s)
	}
}
