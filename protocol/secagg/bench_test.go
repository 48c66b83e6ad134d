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
