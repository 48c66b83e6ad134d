package calibrate

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/store"
)

// Costs are the per-node processing costs calibrate measures on this
// machine while the live testnet runs, and hands the simulated twin as
// protocol.consensus.processing: send = SignUs (a vote is signed once and
// sent to every validator), receive = VerifyUs (each vote received is
// checked), commit = StoreMs, signed_round = SignedRoundMs, timer_late =
// Timers.MeanMs.
type Costs struct {
	// SignUs and VerifyUs are the median ed25519 signature and check of a
	// vote-sized message (VoteBytes), Samples of each, timed in this
	// process while the live nodes ran.
	SignUs   float64 `json:"sign_us"`
	VerifyUs float64 `json:"verify_us"`
	Samples  int     `json:"samples"`
	// StoreMs is the live nodes' mean time to append a committed block
	// to their store, fsync included (node.MetricStoreWrite, every node's
	// histogram summed), over StoreWrites writes.
	StoreMs     float64 `json:"store_commit_ms"`
	StoreWrites int     `json:"store_writes"`
	// SignedRoundMs is the mean of SignedRoundWrites live/store SetSigned
	// calls timed in this process while the live nodes ran, on their disk,
	// one store per node written at the same moment, as the validators
	// record a round together: the synced write before a validator's
	// first message of a round, which the nodes do not time.
	SignedRoundMs     float64 `json:"signed_round_ms"`
	SignedRoundWrites int     `json:"signed_round_writes"`
	// Timers is how late timers fired while the live nodes ran; its mean
	// is the simulated twin's timer_late.
	Timers Lateness `json:"timers"`
	// Message is the round trip of a dais message between two live
	// runtimes (measureHops) while the live nodes ran; its p50 is the
	// simulated network's RTT.
	Message RTT `json:"message_rtt"`
	// CPUPerBlockMs is the CPU time this process (the live nodes, their
	// clients and libp2p, and these measurements) spent while the live
	// nodes ran, per block a node stored: what one node's height costs
	// the machine's cores.
	CPUPerBlockMs float64 `json:"cpu_per_block_ms"`
	// MsgsPerBlock are the frames a node received (direct and gossip)
	// per block it stored; Cores the GOMAXPROCS the nodes shared.
	MsgsPerBlock float64 `json:"msgs_per_block"`
	Cores        int     `json:"cores"`
	// ReceiveUs is the simulated receive cost: the CPU per message
	// (CPUPerBlockMs ÷ MsgsPerBlock), times nodes ÷ Cores when there are
	// more nodes than cores (they share them: each is served that much
	// slower while all work at once, as they do on a height's messages),
	// and at least VerifyUs.
	ReceiveUs float64 `json:"receive_us"`
}

// VoteBytes is about what a BFT vote signs (its SignBytes).
const VoteBytes = 96

// closeEach closes every one of xs and joins their errors.
func closeEach[T io.Closer](xs []T) error {
	var errs []error
	for _, x := range xs {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureSigs times n ed25519 signatures and checks of a VoteBytes message
// and returns their medians in µs.
func measureSigs(n int) (signUs, verifyUs float64) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, VoteBytes)
	signs, checks := make([]float64, n), make([]float64, n)
	for i := range n {
		msg[i%VoteBytes]++
		t := time.Now()
		sig := ed25519.Sign(priv, msg)
		signs[i] = float64(time.Since(t)) / float64(time.Microsecond)
		t = time.Now()
		if !ed25519.Verify(pub, msg, sig) {
			panic("calibrate: ed25519 rejected its own signature")
		}
		checks[i] = float64(time.Since(t)) / float64(time.Microsecond)
	}
	slices.Sort(signs)
	slices.Sort(checks)
	return median(signs), median(checks)
}

// scrapeNodes sums the nodes' store write histograms and the frames they
// received (their /metrics).
func scrapeNodes(ctx context.Context, nodes []*node.Node) (sumS float64, count int, frames float64, err error) {
	for _, n := range nodes {
		page, err := scrape(ctx, "http://"+n.StatusAddr()+"/metrics")
		if err != nil {
			return 0, 0, 0, fmt.Errorf("calibrate: node %d's metrics: %w", n.ID(), err)
		}
		s, c, err := parseHistogram(strings.NewReader(page), node.MetricStoreWrite)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("calibrate: node %d's store writes: %w", n.ID(), err)
		}
		sumS += s
		count += c
		for _, result := range []string{"received", "gossip_received"} {
			frames += parseCounter(page, node.MetricFrames+`{result="`+result+`"}`)
		}
	}
	return sumS, count, frames, nil
}

// scrape is the page at url.
func scrape(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// parseCounter is the value of the sample named series (with its labels,
// as the page writes them), 0 if the page has none.
func parseCounter(page, series string) float64 {
	for line := range strings.Lines(page) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return f
			}
		}
	}
	return 0
}

// parseHistogram reads an unlabelled histogram's _sum and _count.
func parseHistogram(r io.Reader, name string) (sum float64, count int, err error) {
	sc := bufio.NewScanner(r)
	found := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case name + "_sum":
			if sum, err = strconv.ParseFloat(f[1], 64); err != nil {
				return 0, 0, fmt.Errorf("%s_sum: %w", name, err)
			}
			found++
		case name + "_count":
			c, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, 0, fmt.Errorf("%s_count: %w", name, err)
			}
			count = int(c)
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("no %s histogram", name)
	}
	return sum, count, nil
}

// Lateness is how late timers fired in this process while live nodes ran:
// a goroutine sleeping Period on a timer, again and again, and measuring
// how far past due each wake-up came. The nodes' timers wake the same way
// and then also wait for the inputs queued ahead of them, which this does
// not see.
type Lateness struct {
	PeriodMs float64 `json:"period_ms"`
	Samples  int     `json:"samples"`
	MeanMs   float64 `json:"mean_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

// probeLateness starts the probe; the returned func stops it and
// summarizes.
func probeLateness(period time.Duration) (stop func() Lateness) {
	quit, done := make(chan struct{}), make(chan []float64)
	go func() {
		var late []float64
		t := time.NewTimer(period)
		defer t.Stop()
		for {
			due := time.Now().Add(period)
			t.Reset(period)
			select {
			case <-quit:
				done <- late
				return
			case <-t.C:
				late = append(late, float64(time.Since(due))/float64(time.Millisecond))
			}
		}
	}()
	return func() Lateness {
		close(quit)
		late := <-done
		l := Lateness{PeriodMs: float64(period) / float64(time.Millisecond), Samples: len(late)}
		if len(late) == 0 {
			return l
		}
		slices.Sort(late)
		l.MeanMs, l.P50Ms, l.P99Ms = mean(late), median(late), late[min(len(late)-1, int(0.99*float64(len(late))))]
		return l
	}
}

// measureSignedRound times live/store SetSigned (the synced write a live
// validator makes before its first message of each round) as the live
// validators make it: writers stores in dir, on the disk the live nodes
// use, each written at the same moment, n times; it returns the mean
// write in ms. The stores are removed afterwards.
func measureSignedRound(dir string, writers, n int) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var stores []*store.Store
	closeAll := func() error { return closeEach(stores) }
	for i := range writers {
		st, err := store.Open(filepath.Join(dir, fmt.Sprintf("bench-%d.db", i)), store.Options{})
		if err != nil {
			return 0, errors.Join(err, closeAll())
		}
		stores = append(stores, st)
	}
	took := make([]time.Duration, writers)
	errs := make([]error, writers)
	var total time.Duration
	for round := range n {
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() {
				t := time.Now()
				errs[i] = st.SetSigned(uint64(round+1), 0)
				took[i] = time.Since(t)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return 0, errors.Join(err, closeAll())
		}
		for _, d := range took {
			total += d
		}
	}
	return float64(total) / float64(n*writers) / float64(time.Millisecond), closeAll()
}
