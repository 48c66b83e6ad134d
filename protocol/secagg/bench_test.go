package secagg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dais-sim/dais/protocol"
)

// The unit costs Cost charges, measured one by one.

func BenchmarkKeyAgreementX25519(b *testing.B) {
	var ka X25519
	priv, peer := ka.Private(Key{1}), ka.Private(Key{2}).Public()
	for b.Loop() {
		if _, err := priv.Shared(peer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMaskWord(b *testing.B) {
	v := make([]uint64, 4811)
	for b.Loop() {
		mask(v, [32]byte{1}, +1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(v)), "ns/word")
}

func BenchmarkShamirDeal(b *testing.B) {
	const n, t = 100, 67
	xs := make([]uint64, n)
	for i := range xs {
		xs[i] = uint64(i + 1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		shareSecrets([]Secret{{1, 2}, {3, 4}}, t, xs, r.Uint64)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*4*n*(t-1)), "ns/mul")
}

func BenchmarkSealShares(b *testing.B) {
	key, _ := shareKey(Key{7}, 1)
	for b.Loop() {
		ct := sealShares(key, 1, 2, 3, Share{1, 2}, Share{3, 4})
		if _, _, err := openShares(key, 1, 2, 3, ct); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/seal")
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
			var server, client Work
			for b.Loop() {
				s := share(b, n, 2*n/3+1, dim, 1, X25519{})
				if _, err := s.finish(x, drop); err != nil {
					b.Fatal(err)
				}
				server, client = s.server.Work(), s.clients[0].Work()
			}
			b.ReportMetric(float64(DefaultCost.Of(server))/1e6, "coord-modeled-ms")
			b.ReportMetric(float64(DefaultCost.Of(client))/1e6, "client-setup-modeled-ms")
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
// and prices them with DefaultCost: what the coordinator and one client
// spend on X25519, masks, Shamir and sealing, and the bytes one client
// sends and receives. It runs fastDH, so n = 1,000 fits a benchmark;
// BenchmarkRound measures n = 10 and 100 with X25519 against the model.
func BenchmarkRoundWork(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			const dim = 4811
			x := make([][]uint64, n)
			for i := range x {
				x[i] = make([]uint64, dim)
			}
			drop := dropouts(n, 0.1, 1)
			for b.Loop() {
				s := share(b, n, 2*n/3+1, dim, 1, fastDH{})
				if _, err := s.finish(x, drop); err != nil {
					b.Fatal(err)
				}
				// A client that survived: its first, and the bytes of
				// every message it sent (up) and was sent (down).
				c := 0
				for drop[c] {
					c++
				}
				srv, cl := s.server.Work(), s.clients[c].Work()
				l := len(s.server.U2())
				keys := (&Keys{Round: 7}).WireSize()
				shares := (&Shares{Round: 7, To: s.ids[:n-1], Sealed: make([][]byte, n-1)}).WireSize()
				masked := (&Masked{Round: 7, Y: x[0]}).WireSize()
				unmask := (&Unmask{Round: 7, Owners: s.server.U2(), Shares: make([]Share, l)}).WireSize()
				up := keys + shares + masked + unmask
				list := (&KeyList{Round: 7, Clients: s.ids, C: make([]Key, n), S: make([]Key, n)}).WireSize()
				down := list + shares + (&Survivors{Round: 7, Clients: s.server.U3()}).WireSize()
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
