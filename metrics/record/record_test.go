package record

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dais-sim/dais/metrics"
)

var (
	latency   = &metrics.Measure{Name: "latency", Unit: "ms", Kind: metrics.Distribution, Help: "time from send to arrival", Better: metrics.Lower}
	sent      = &metrics.Measure{Name: "sent", Unit: "bytes", Kind: metrics.Counter, Help: "bytes sent"}
	earnings  = &metrics.Measure{Name: "earnings", Unit: "tokens", Kind: metrics.PerNode, Help: "tokens earned"}
	neverSeen = &metrics.Measure{Name: "lost", Kind: metrics.Counter, Help: "messages lost"}
)

// arrival is a protocol-style event that knows its measures.
type arrival struct {
	DelayMs float64
	Bytes   int
	Payee   uint32
}

func (arrival) Kind() string { return "test.arrival" }

func (a arrival) Observe(s metrics.Stamped, o metrics.Observer) {
	o.Sample(latency, a.DelayMs)
	o.Add(sent, float64(a.Bytes))
	o.AddTo(earnings, a.Payee, 1)
}

type plain struct{}

func (plain) Kind() string { return "test.plain" }

func TestSummary(t *testing.T) {
	rec := New(Config{StepNs: 1e9}, latency, sent, earnings, neverSeen)
	for i, at := range []int64{0, 0.5e9, 1.2e9, 3.9e9} {
		rec.Record(metrics.Stamped{Node: 1, AtNs: at, Event: arrival{DelayMs: float64(10 * (i + 1)), Bytes: 100, Payee: uint32(i % 2)}})
	}
	rec.Record(metrics.Stamped{Event: plain{}})
	run := rec.Summary(5e9)
	var keys []string
	for _, f := range run.Figures {
		keys = append(keys, f.Key)
	}
	want := []string{"latency_count", "latency_ms_mean", "latency_ms_p50", "latency_ms_p90", "latency_ms_p95", "latency_ms_p99", "latency_ms_max", "sent_bytes", "earnings_tokens_total", "lost"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v\nwant %v", keys, want)
	}
	for key, v := range map[string]float64{
		"latency_count": 4, "latency_ms_mean": 25, "latency_ms_max": 40, "sent_bytes": 400, "earnings_tokens_total": 4, "lost": 0,
	} {
		if f, _ := run.Figure(key); f.Value != v {
			t.Errorf("%s = %v, want %v", key, f.Value, v)
		}
	}
	// Rank ⌊0.5·3⌋ = 1 of 10, 20, 30, 40 is 20, within 0.5%.
	if f, _ := run.Figure("latency_ms_p50"); math.Abs(f.Value-20) > 0.1 || f.Better != metrics.Lower || f.Unit != "ms" {
		t.Errorf("p50 %+v", f)
	}
	if rec.Ignored() != 1 {
		t.Errorf("ignored %d, want 1", rec.Ignored())
	}
	if got := rec.PerNode(earnings, 3); !slices.Equal(got, []float64{2, 2, 0}) {
		t.Errorf("per node %v", got)
	}
	d := run.Dist("latency_ms")
	if d == nil || d.Count != 4 || d.V[0] != 10 || d.V[len(d.V)-1] != 40 || d.RelErr != DefaultRelErr {
		t.Errorf("dist %+v", d)
	}
	// Steps [0,1) [1,2) [2,3) [3,4) [4,5): up to the end, 5 s.
	s := run.Series
	if s.StepNs != 1e9 {
		t.Fatalf("step %d", s.StepNs)
	}
	col := func(k string) []float64 { return run.Column(k).Values }
	if got := col("sent_bytes"); !slices.Equal(got, []float64{200, 100, 0, 100, 0}) {
		t.Errorf("sent per step %v", got)
	}
	if got := col("latency_count"); !slices.Equal(got, []float64{2, 1, 0, 1, 0}) {
		t.Errorf("latency count per step %v", got)
	}
	if got := col("latency_ms_mean"); got[0] != 15 || got[1] != 30 || !math.IsNaN(got[2]) {
		t.Errorf("latency mean per step %v", got)
	}
	if err := run.Validate(); err != nil {
		t.Error(err)
	}
	// A distribution nothing fed still has its keys, undefined (null).
	empty := New(Config{}, latency).Summary(0)
	if f, ok := empty.Figure("latency_ms_p50"); !ok || !math.IsNaN(f.Value) || empty.Dists[0].Count != 0 {
		t.Errorf("empty distribution: %+v %+v", f, empty.Dists)
	}
	if err := empty.Validate(); err != nil {
		t.Error(err)
	}
}

// Every quantile is within the stated relative error of the exact one, on
// 10⁶ samples of distributions with light and heavy tails.
func TestQuantileError(t *testing.T) {
	if raceEnabled {
		t.Skip("a million draws through the sketch on one goroutine: nothing for the race detector (make test runs it without -race)")
	}
	const n = 1_000_000
	r := rand.New(rand.NewPCG(7, 11))
	for _, tc := range []struct {
		name string
		draw func() float64
	}{
		{"lognormal(0,2)", func() float64 { return math.Exp(2 * r.NormFloat64()) }},
		{"uniform(0,1000)", func() float64 { return 1000 * r.Float64() }},
		{"pareto(1.2) ms", func() float64 { return 1 / math.Pow(1-r.Float64(), 1/1.2) }},
		{"exponential with zeros", func() float64 {
			if r.IntN(10) == 0 {
				return 0
			}
			return r.ExpFloat64()
		}},
	} {
		rec := New(Config{}, latency)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = tc.draw()
			rec.Sample(latency, xs[i])
		}
		slices.Sort(xs)
		worst := 0.0
		for _, q := range Quantiles {
			exact := xs[int(math.Floor(q*(n-1)))]
			got := rec.Quantile(latency, q)
			var rel float64
			if exact == 0 {
				rel = math.Abs(got)
			} else {
				rel = math.Abs(got-exact) / exact
			}
			worst = max(worst, rel)
			if rel > DefaultRelErr*(1+1e-9) {
				t.Errorf("%s: q %.3f = %v, exact %v: relative error %.4f%% > %.1f%%", tc.name, q, got, exact, 100*rel, 100*DefaultRelErr)
			}
		}
		t.Logf("%s: worst relative error %.3f%% (bound %.1f%%), %d buckets", tc.name, 100*worst, 100*DefaultRelErr, rec.Bins(latency))
	}
}

// Memory stays bounded: values over 40 decades keep at most MaxBins
// buckets, and a long run keeps at most MaxPoints steps, totals intact.
func TestBoundedMemory(t *testing.T) {
	rec := New(Config{StepNs: 1e6, MaxPoints: 64, MaxBins: 256}, latency, sent)
	r := rand.New(rand.NewPCG(1, 1))
	var total float64
	for i := 0; i < 100_000; i++ {
		at := int64(i) * 1e6 // 100 s at a 1 ms step: 100,000 steps unbounded
		rec.At(at).Sample(latency, math.Pow(10, 40*r.Float64()-20))
		rec.At(at).Add(sent, 3)
		total += 3
	}
	if b := rec.Bins(latency); b > 256 {
		t.Errorf("%d buckets, bound 256", b)
	}
	run := rec.Summary(0)
	s := run.Series
	// 100 s in ≤ 64 steps: the 1 ms step doubled 11 times to 2.048 s.
	if s.StepNs != 1e6<<11 || len(s.Columns[0].Values) > 64 {
		t.Errorf("step %d ns, %d points; want 2048 ms, ≤ 64", s.StepNs, len(s.Columns[0].Values))
	}
	var sum float64
	for _, v := range run.Column("sent_bytes").Values {
		sum += v
	}
	if sum != total {
		t.Errorf("series sums to %v, recorded %v", sum, total)
	}
	// The top quantiles stay accurate even after the lowest buckets merged.
	if p99 := rec.Quantile(latency, 0.99); p99 < 1e19 || p99 > 1e20 {
		t.Errorf("p99 %g, want about 10^19.6", p99)
	}
}

func TestEndFixesStep(t *testing.T) {
	rec := New(Config{StepNs: 1e6, EndNs: 10e9, MaxPoints: 1000}, sent)
	// 10 s at 1 ms is 10,000 steps: doubled 4 times to 16 ms, 625 steps.
	if rec.StepNs() != 16e6 {
		t.Errorf("step %d, want 16 ms", rec.StepNs())
	}
}

func TestMisuse(t *testing.T) {
	for name, f := range map[string]func(){
		"kind": func() { New(Config{}, sent).Sample(sent, 1) },
		"name": func() {
			New(Config{}, sent, &metrics.Measure{Name: "sent", Unit: "bytes", Kind: metrics.Counter, Help: "again"})
		},
		"invalid": func() { New(Config{}, &metrics.Measure{Name: "Bad Name", Kind: metrics.Counter, Help: "x"}) },
		"nan":     func() { New(Config{}).Sample(latency, math.NaN()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestLocked(t *testing.T) {
	l := NewLocked(New(Config{StepNs: 1e9}, sent))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				l.Record(metrics.Stamped{AtNs: int64(i) * 1e6, Event: arrival{DelayMs: 1, Bytes: 1}})
			}
		}()
	}
	wg.Wait()
	var got float64
	l.Do(func(r *Recorder) { got = r.Total(sent) })
	if got != 4000 {
		t.Errorf("total %v, want 4000", got)
	}
}

func TestKindString(t *testing.T) {
	if s := metrics.Distribution.String() + metrics.Kind(9).String(); !strings.Contains(s, "distribution") || !strings.Contains(s, "Kind(9)") {
		t.Error(s)
	}
}
