package calibrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
)

func TestParseHistogram(t *testing.T) {
	page := `# HELP dais_store_write_seconds Time to append a committed block.
# TYPE dais_store_write_seconds histogram
dais_store_write_seconds_bucket{le="0.001"} 3
dais_store_write_seconds_bucket{le="+Inf"} 7
dais_store_write_seconds_sum 0.0213
dais_store_write_seconds_count 7
dais_store_writes_other 9
`
	sum, n, err := parseHistogram(strings.NewReader(page), "dais_store_write_seconds")
	if err != nil || sum != 0.0213 || n != 7 {
		t.Errorf("sum %v, count %d, err %v; want 0.0213, 7", sum, n, err)
	}
	if _, _, err := parseHistogram(strings.NewReader("dais_store_write_seconds_sum 1\n"), "dais_store_write_seconds"); err == nil {
		t.Error("a page without the count parsed")
	}
}

func TestMeasureSigs(t *testing.T) {
	sign, verify := measureSigs(20)
	if !(sign > 0) || !(verify > 0) {
		t.Errorf("sign %v µs, verify %v µs", sign, verify)
	}
}

// Two live runtimes echo dais messages over libp2p on loopback.
func TestMeasureHops(t *testing.T) {
	livetest.RequireLoopback(t)
	rtt, err := measureHops(context.Background(), 5, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rtt.Samples != 5 || !(rtt.MinMs > 0) || rtt.P50Ms < rtt.MinMs || rtt.P99Ms < rtt.P50Ms {
		t.Errorf("rtt %+v: want 5 samples, 0 < min <= p50 <= p99", rtt)
	}
}

func TestParseCounter(t *testing.T) {
	page := "# TYPE dais_p2p_frames_total counter\ndais_p2p_frames_total{result=\"received\"} 120\ndais_p2p_frames_total{result=\"gossip_received\"} 7\n"
	if got := parseCounter(page, `dais_p2p_frames_total{result="received"}`); got != 120 {
		t.Errorf("received = %v, want 120", got)
	}
	if got := parseCounter(page, `dais_p2p_frames_total{result="sent"}`); got != 0 {
		t.Errorf("sent = %v, want 0 (absent)", got)
	}
}
