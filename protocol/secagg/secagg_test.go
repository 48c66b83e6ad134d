package secagg

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

func TestShamirRebuildsFromAnyTShares(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(2, 40).Draw(rt, "n")
		th := rapid.IntRange(1, n).Draw(rt, "t")
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 1))
		secret := Secret{element(r.Uint64), element(r.Uint64)}
		other := Secret{element(r.Uint64), element(r.Uint64)}
		xs := make([]uint64, n)
		for i := range xs {
			xs[i] = point(ID(r.IntN(1000)*n + i)) // distinct
		}
		shares := shareSecrets([]Secret{secret, other}, th, xs, r.Uint64)
		pick := r.Perm(n)
		take := func(k int) Secret {
			ps := make([]uint64, k)
			sh := make([]Share, k)
			for i, j := range pick[:k] {
				ps[i], sh[i] = xs[j], shares[j][0]
			}
			lam, err := lagrangeAtZero(ps)
			if err != nil {
				rt.Fatal(err)
			}
			return combine(lam, sh)
		}
		if got := take(th); got != secret {
			rt.Fatalf("t=%d of n=%d shares rebuilt %v, want %v", th, n, got, secret)
		}
		if th > 1 {
			// t−1 shares give a value, but not the secret (but for a
			// chance of 2⁻¹²²).
			if got := take(th - 1); got == secret {
				rt.Fatalf("t−1 shares rebuilt the secret")
			}
		}
	})
}

func TestFieldArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		a, b := element(r.Uint64), element(r.Uint64)
		want := new(big).mulmod(a, b)
		if got := mul(a, b); got != want {
			t.Fatalf("mul(%d, %d) = %d, want %d", a, b, got, want)
		}
		if a != 0 && mul(a, inv(a)) != 1 {
			t.Fatalf("inv(%d) is not an inverse", a)
		}
		if add(sub(a, b), b) != a {
			t.Fatalf("sub(%d, %d) does not undo add", a, b)
		}
	}
}

// big is the naive oracle: 128-bit product reduced by long division.
type big struct{}

func (big) mulmod(a, b uint64) uint64 {
	hi, lo := mulFull(a, b)
	// (hi·2⁶⁴ + lo) mod p by repeated doubling.
	var r uint64
	for i := 127; i >= 0; i-- {
		r = (r << 1) % prime
		var bit uint64
		if i >= 64 {
			bit = hi >> (i - 64) & 1
		} else {
			bit = lo >> i & 1
		}
		r = (r + bit) % prime
	}
	return r
}

func mulFull(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1, b0, b1 := a&mask32, a>>32, b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1, w2 := t&mask32, t>>32
	w1 += a0 * b1
	return a1*b1 + w2 + w1>>32, a * b
}

func TestFixedPoint(t *testing.T) {
	v := []float64{0, 1, -1, 0.5, -0.25, 1e-9, -3.75, 1000.125}
	e, err := Encode(v, 24)
	if err != nil {
		t.Fatal(err)
	}
	got := Decode(e, 24)
	for i := range v {
		if math.Abs(got[i]-v[i]) > math.Ldexp(1, -25) {
			t.Errorf("value %d: %v decodes to %v", i, v[i], got[i])
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Ldexp(1, 63-20-24)} {
		if _, err := Encode([]float64{bad}, 24); !errors.Is(err, ErrRange) {
			t.Errorf("Encode(%v) = %v, want ErrRange", bad, err)
		}
	}
}

// fastDH is Diffie–Hellman in the multiplicative group mod 2⁶¹ − 1:
// insecure (a 61-bit group), but commutative like X25519 and a thousand
// times cheaper, so that a round of 1,000 clients — 2·10⁶ agreements —
// runs in a unit test. The masks cancel and the seeds rebuild through
// KeyAgreement's one property, Shared(a, Public(b)) = Shared(b, Public(a)),
// which the runs at n = 10 and 100 exercise with X25519.
type fastDH struct{}

func fastExp(base uint64, k Key) uint64 {
	e := binary.LittleEndian.Uint64(k[:]) | 1
	r := uint64(1)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mul(r, base)
		}
		base = mul(base, base)
	}
	return r
}

func (fastDH) Private(secret Key) PrivateKey { return fastKey(secret) }

type fastKey Key

func (k fastKey) Public() Key {
	var p Key
	binary.LittleEndian.PutUint64(p[:], fastExp(37, Key(k)))
	return p
}

func (k fastKey) Shared(peer Key) (Key, error) {
	var s Key
	binary.LittleEndian.PutUint64(s[:], fastExp(binary.LittleEndian.Uint64(peer[:])%prime, Key(k)))
	return s, nil
}

// setup is a round after the sharing phase: every client has its shares.
type setup struct {
	n, t, dim int
	round     uint64
	ka        KeyAgreement
	ids       []ID
	clients   []*Client
	server    *Server
	// transcript is every message the server received, encoded, in order.
	transcript [][]byte
	// last and lastClients are the copies the last finish ran (nil for a
	// client that dropped), for their Work.
	last        *Server
	lastClients []*Client
}

func (s *setup) recv(m wire.Msg) { s.transcript = append(s.transcript, wire.Encode(m)) }

// share runs a round to the end of sharing: n clients with IDs 10, 13,
// 16, …, keys and seeds from the stream (seed, "client", i).
func share(tb testing.TB, n, t, dim int, seed uint64, ka KeyAgreement) *setup {
	s := &setup{n: n, t: t, dim: dim, round: 7, ka: ka}
	s.server = NewServer(ServerConfig{Round: s.round, Threshold: t, Dim: dim, KA: ka})
	ent := make([]StreamReader, n)
	for i := range n {
		id := ID(10 + 3*i)
		ent[i] = StreamReader{protocol.Stream(seed, "client", uint64(i))}
		c, keys, err := NewClient(ClientConfig{ID: id, Round: s.round, Dim: dim, KA: ka}, ent[i])
		if err != nil {
			tb.Fatal(err)
		}
		s.ids, s.clients = append(s.ids, id), append(s.clients, c)
		s.recv(keys)
		if err := s.server.AddKeys(id, keys); err != nil {
			tb.Fatal(err)
		}
	}
	list, err := s.server.CloseKeys()
	if err != nil {
		tb.Fatal(err)
	}
	for i, c := range s.clients {
		sh, err := c.Share(list, ent[i])
		if err != nil {
			tb.Fatal(err)
		}
		s.recv(sh)
		if err := s.server.AddShares(s.ids[i], sh); err != nil {
			tb.Fatal(err)
		}
	}
	ds, err := s.server.CloseShares()
	if err != nil {
		tb.Fatal(err)
	}
	for i, d := range ds {
		if err := s.clients[i].Receive(d.Msg); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// finish sends the inputs of the clients not in dropped, then unmasks;
// it works on copies of the clients' state so that one setup serves
// several dropout patterns.
func (s *setup) finish(inputs [][]uint64, dropped map[int]bool) ([]uint64, error) {
	srv := *s.server
	srv.masked = map[ID][]uint64{}
	s.last, s.lastClients = &srv, make([]*Client, len(s.clients))
	var live []*Client
	var liveIDs []ID
	for i, c := range s.clients {
		if dropped[i] {
			continue
		}
		cc := *c
		s.lastClients[i] = &cc
		m, err := cc.Mask(inputs[i])
		if err != nil {
			return nil, err
		}
		s.recv(m)
		if err := srv.AddMasked(s.ids[i], m); err != nil {
			return nil, err
		}
		live, liveIDs = append(live, &cc), append(liveIDs, s.ids[i])
	}
	sv, err := srv.CloseMasked()
	if err != nil {
		return nil, err
	}
	for i, c := range live {
		u, err := c.Unmask(sv)
		if err != nil {
			return nil, err
		}
		s.recv(u)
		if err := srv.AddUnmask(liveIDs[i], u); err != nil {
			return nil, err
		}
	}
	return srv.Sum()
}
