package reports

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
)

// repRun is a run of repetitions with figure latency_ms taking vals and
// steady taking 5, 6, 7.
func repRun(t *testing.T, vals []float64, extra ...metrics.Figure) *metrics.Run {
	var reps []*metrics.Run
	for i, v := range vals {
		r := synthetic()
		r.Meta.Seed = uint64(i + 1)
		r.Figures = append(metrics.Figures{
			{Key: "latency_ms", Value: v, Unit: "ms", Help: "latency", Better: metrics.Lower},
			{Key: "steady", Value: float64(5 + i%3), Help: "same in both", Better: metrics.Higher},
		}, extra...)
		reps = append(reps, r)
	}
	agg, err := metrics.Aggregate(reps)
	if err != nil {
		t.Fatal(err)
	}
	return agg
}

func TestCompare(t *testing.T) {
	// latency: A = 1..5, B = 2,4,…,12. Welch (worked in metrics/stats_test):
	// t = −2.376, df = 6.97, p = 0.0493 < 0.05: B is significantly worse.
	a := repRun(t, []float64{1, 2, 3, 4, 5})
	b := repRun(t, []float64{2, 4, 6, 8, 10, 12}, metrics.Figure{Key: "only_b", Value: 1})
	c := Compare(Named{"base", a}, Named{"new", b})
	rows := map[string]CompareRow{}
	for _, r := range c.Rows {
		rows[r.Key] = r
	}
	lat := rows["latency_ms"]
	if lat.A != 3 || lat.B != 7 || lat.Delta != 4 || math.Abs(lat.DeltaPct-133.333) > 1e-3 {
		t.Errorf("latency row %+v", lat)
	}
	if lat.Test == nil || math.Abs(lat.Test.P-0.049284) > 1e-5 || !lat.Significant() || lat.Verdict() != "worse" {
		t.Errorf("latency test %+v, verdict %q", lat.Test, lat.Verdict())
	}
	// steady: 5,6,7,5,6 vs 5,6,7,5,6,7: no significant difference.
	st := rows["steady"]
	if st.Test == nil || st.Significant() || st.Verdict() != "same" {
		t.Errorf("steady %+v, verdict %q", st.Test, st.Verdict())
	}
	if ob := rows["only_b"]; !math.IsNaN(ob.A) || ob.B != 1 || ob.Verdict() != "" || ob.Test != nil {
		t.Errorf("only_b %+v", ob)
	}
	if c.Rows[len(c.Rows)-1].Key != "only_b" {
		t.Errorf("figures only B has should come last")
	}

	var tbl, md, html bytes.Buffer
	if err := c.Table(&tbl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A = base", "B = new", "latency_ms", "+133.3%", "yes (p = 0.04928)", "worse", "no (p ="} {
		if !strings.Contains(tbl.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tbl.String())
		}
	}
	if err := c.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| `latency_ms` | 3 ± 1.963 | 7 ± 3.927 | +4 | +133.3% | yes (p = 0.04928) | worse | ms |") {
		t.Errorf("markdown row:\n%s", md.String())
	}
	if err := c.HTML(&html); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	checkSelfContained(t, h)
	// Both runs have every synthetic plot's data: each is overlaid.
	if n := strings.Count(h, `class="dais-axes"`); n != len(a.Plots) {
		t.Errorf("%d overlaid plots, want %d", n, len(a.Plots))
	}
	if !strings.Contains(h, `class="worse"`) {
		t.Error("the worse row is not marked")
	}
}

func TestCompareSingleRuns(t *testing.T) {
	a, b := demoRun(t), demoRun(t, "run.seed=2")
	c := Compare(Named{"seed1", a}, Named{"seed2", b})
	for _, r := range c.Rows {
		if r.Test != nil || (r.significance() != "1 run" && r.NA > 0 && r.NB > 0) {
			t.Errorf("%s: a test without repetitions: %s", r.Key, r.significance())
		}
		if r.Key == "nodes" && (r.Delta != 0 || r.Verdict() != "") {
			t.Errorf("nodes: %+v", r)
		}
		// A seed-only difference with one run each is not "better".
		if v := r.Verdict(); r.Delta != 0 && r.Better != "" && v != "1 run" {
			t.Errorf("%s: verdict %q from one run a side", r.Key, v)
		}
	}
	if !c.DiffKnown || len(c.Diff) != 0 {
		// demoRun records no resolved scenario.
		if c.DiffKnown {
			t.Errorf("diff %+v", c.Diff)
		}
	}
}
