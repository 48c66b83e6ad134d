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
