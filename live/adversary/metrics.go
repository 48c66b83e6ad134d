package adversary

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are a node's /metrics samples: counters and gauges by name, each
// with its labels.
type Metrics map[string][]Sample

// Sample is one sample: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Scrape reads a node's /metrics from its status server (host:port).
func Scrape(ctx context.Context, addr string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("adversary: %s/metrics: %w", addr, err)
	}
	out := Metrics{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			s := Sample{Labels: map[string]string{}, Value: value(m)}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], s)
		}
	}
	return out, nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// Sum is the sum of name's samples whose labels match every "key=value"
// in labels.
func (m Metrics) Sum(name string, labels ...string) float64 {
	sum := 0.0
	for _, s := range m[name] {
		if slices.IndexFunc(labels, func(kv string) bool {
			k, v, _ := strings.Cut(kv, "=")
			return s.Labels[k] != v
		}) < 0 {
			sum += s.Value
		}
	}
	return sum
}

// RSS is the resident set size of process pid, in bytes (Linux: VmRSS in
// /proc/pid/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("adversary: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errNoRSS
}

func multiaddr(s string) (ma.Multiaddr, error) { return ma.NewMultiaddr(s) }

func timer() *time.Timer { return time.NewTimer(20 * time.Millisecond) }
