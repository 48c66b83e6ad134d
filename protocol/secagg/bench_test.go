package secagg

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/dais-sim/dais/protocol"
)

// The unit costs Cost charges, measured one by one. Each reports its
// cost per unit in process CPU time (getrusage) as well as Go's wall-clock
// ns/op: on a shared machine other processes' load stretches the wall
// clock, not the CPU time.

// cpuPer reports the CPU time of the benchmark's loop divided by units.
func cpuPer(b *testing.B, start time.Duration, units int, unit string) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(units), unit)
}

func BenchmarkKeyAgreementX25519(b *testing.B) {
	var ka X25519
	priv, peer := ka.Private(Key{1}), ka.Private(Key{2}).Public()
	t0 := cpuTime()
	for b.Loop() {
		if _, err := priv.Shared(peer); err != nil {
			b.Fatal(err)
		}
	}
	cpuPer(b, t0, b.N, "cpu-ns/agreement")
}

func BenchmarkMaskWord(b *testing.B) {
	v := make([]uint64, 4811)
	t0 := cpuTime()
	for b.Loop() {
		mask(v, [32]byte{1}, +1)
	}
	cpuPer(b, t0, b.N*len(v), "cpu-ns/word")
}

func BenchmarkShamirDeal(b *testing.B) {
	const n, t = 100, 67
	xs := make([]uint64, n)
	for i := range xs {
		xs[i] = uint64(i + 1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	t0 := cpuTime()
	for b.Loop() {
		shareSecrets([]Secret{{1, 2}, {3, 4}}, t, xs, r.Uint64)
	}
	cpuPer(b, t0, b.N*4*n*(t-1), "cpu-ns/mul")
}

func BenchmarkSealShares(b *testing.B) {
	key, _ := shareKey(Key{7}, 1)
	t0 := cpuTime()
	for b.Loop() {
		ct := sealShares(key, 1, 2, 3, Share{1, 2}, Share{3, 4})
		if _, _, err := openShares(key, 1, 2, 3, ct); err != nil {
			b.Fatal(err)
		}
	}
	cpuPer(b, t0, 2*b.N, "cpu-ns/seal")
}

// BenchmarkRound runs whole rounds (every client's part and the
// coordinator's) with X25519 for the optdigits MLP (4,810 parameters and
// the weight), 10% of clients dropping after sharing; ns/op is the host
// CPU of the whole round on one core; Work is then charged by Cost.
func BenchmarkRound(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			const dim = 4811
			x := make([][]uint64, n)
			for i := range x {
				x[i] = make([]uint64, dim)
			}
			drop := dropouts(n, 0.1, 1)
			var server, clients Work
			var cpu time.Duration
			for b.Loop() {
				t0 := cpuTime()
				s := share(b, n, 2*n/3+1, dim, 1, X25519{})
				if _, err := s.finish(x, drop); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - t0
				server, clients = s.last.Work(), Work{}
				for i, c := range s.clients {
					if s.lastClients[i] != nil {
						c = s.lastClients[i]
					}
					clients.Add(c.Work())
				}
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
			b.ReportMetric((float64(DefaultCost.Of(server))+float64(DefaultCost.Of(clients)))/1e9, "modeled-s")
		})
	}
}

func TestCostOf(t *testing.T) {
	c := Cost{KeyAgreementNs: 100, MaskWordNs: 2, FieldMulNs: 3, SealNs: 5}
	w := Work{KeyAgreements: 1, MaskWords: 10, FieldMuls: 100, Seals: 1000}
	if got, want := c.Of(w), protocol.Duration(100+20+300+5000); got != want {
		t.Fatalf("Of = %v, want %v", got, want)
	}
}

// BenchmarkRoundWork counts one round's operations for n clients (10% of
// them dropping out after sharing, t = ⌊2n/3⌋+1, the MLP's 4,811 values)
// and prices them with DefaultCost: what the coordinator and one
// surviving client spend on X25519, masks, Shamir and sealing, and the
// bytes that client sends and receives. It runs fastDH and 8-value
// vectors, so that n = 1,000 fits a benchmark, and scales the mask words
// (exactly proportional to the length) to 4,811 values; BenchmarkRound
// measures n = 10 and 100 with X25519 against the model.
func BenchmarkRoundWork(b *testing.B) {
	const dim, small = 4811, 8
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			x := make([][]uint64, n)
			for i := range x {
				x[i] = make([]uint64, small)
			}
			drop := dropouts(n, 0.1, 1)
			for b.Loop() {
				s := share(b, n, 2*n/3+1, small, 1, fastDH{})
				if _, err := s.finish(x, drop); err != nil {
					b.Fatal(err)
				}
				c := 0
				for drop[c] {
					c++
				}
				srv, cl := s.last.Work(), s.lastClients[c].Work()
				srv.MaskWords = srv.MaskWords / small * dim
				cl.MaskWords = cl.MaskWords / small * dim
				u2, u3 := s.last.U2(), s.last.U3()
				shares := (&Shares{Round: 7, To: s.ids[:n-1]}).WireSize()
				up := (&Keys{Round: 7}).WireSize() + shares + (&Masked{Round: 7, Y: make([]uint64, dim)}).WireSize() +
					(&Unmask{Round: 7, Owners: u2, Shares: make([]Share, len(u2))}).WireSize()
				down := (&KeyList{Round: 7, Clients: s.ids, C: make([]Key, n), S: make([]Key, n)}).WireSize() +
					(&SharesFor{Round: 7, From: u2[:len(u2)-1]}).WireSize() + (&Survivors{Round: 7, Clients: u3}).WireSize()
				b.ReportMetric(float64(DefaultCost.Of(srv))/1e6, "coord-ms")
				b.ReportMetric(float64(DefaultCost.Of(cl))/1e6, "client-ms")
				b.ReportMetric(float64(up), "client-up-B")
				b.ReportMetric(float64(down), "client-down-B")
				b.ReportMetric(float64(srv.KeyAgreements), "coord-KA")
				b.ReportMetric(float64(cl.KeyAgreements), "client-KA")
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
