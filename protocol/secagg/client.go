package secagg

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Errors a client returns; each means it refuses to go on with the round.
var (
	ErrPhase     = errors.New("secagg: message out of order")
	ErrThreshold = errors.New("secagg: threshold too low for the clients listed")
	ErrList      = errors.New("secagg: client list not ascending, not a subset, or without this client")
)

// Work counts the operations a party performed, for a driver that
// charges their time (see Cost).
type Work struct {
	KeyAgreements int // Diffie–Hellman computations (and key derivations)
	MaskWords     int // 64-bit PRG words generated and added
	FieldMuls     int // GF(2⁶¹−1) multiplications (Shamir)
	Seals         int // AEAD encryptions and decryptions of share pairs
}

// Add adds o to w.
func (w *Work) Add(o Work) {
	w.KeyAgreements += o.KeyAgreements
	w.MaskWords += o.MaskWords
	w.FieldMuls += o.FieldMuls
	w.Seals += o.Seals
}

// Sub is w − o: the work done since o was read.
func (w Work) Sub(o Work) Work {
	return Work{KeyAgreements: w.KeyAgreements - o.KeyAgreements, MaskWords: w.MaskWords - o.MaskWords,
		FieldMuls: w.FieldMuls - o.FieldMuls, Seals: w.Seals - o.Seals}
}

// ClientConfig configures one client's part in one round.
type ClientConfig struct {
	ID    ID
	Round uint64
	// Dim is the length of the input vector.
	Dim int
	// KA is the key agreement; nil is X25519.
	KA KeyAgreement
}

// Client is one party's state for one round of secure aggregation
// (Bonawitz et al., CCS 2017, §4, the semi-honest protocol: no
// consistency round and no signatures). Its methods are the protocol's
// client steps in order — NewClient (advertise keys), Share, Receive, Mask,
// Unmask — each taking what the coordinator sent and returning what to
// send it. Randomness is passed in: the simulator passes a seeded
// stream, a live node crypto/rand. A Client is not safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	cPriv PrivateKey // encrypts the shares dealt to this client
	sSeed Secret     // seed of the mask key, shared
	sPriv PrivateKey
	b     Secret // seed of the self mask, shared

	list    *KeyList
	idx     int      // this client's index in list
	keys    [][]byte // the share keys agreed with each client of list (nil for self)
	own     Share    // this client's shares of its own secrets
	ownB    Share
	u2      []ID // clients whose shares this client holds (itself included), ascending
	sShares []Share
	bShares []Share
	masked  bool
	done    bool

	work Work
}

// Work is the operations the client has performed so far.
func (c *Client) Work() Work { return c.work }

// NewClient draws the client's keys and seeds from entropy and returns it
// with its Keys message.
func NewClient(cfg ClientConfig, entropy io.Reader) (*Client, *Keys, error) {
	if cfg.KA == nil {
		cfg.KA = X25519{}
	}
	c := &Client{cfg: cfg}
	var secret Key
	if _, err := io.ReadFull(entropy, secret[:]); err != nil {
		return nil, nil, err
	}
	c.cPriv = cfg.KA.Private(secret)
	var err error
	if c.sSeed, err = newSecret(entropy); err != nil {
		return nil, nil, err
	}
	if c.b, err = newSecret(entropy); err != nil {
		return nil, nil, err
	}
	c.sPriv = cfg.KA.Private(privateOf(c.sSeed, cfg.Round))
	c.work.KeyAgreements += 2
	return c, &Keys{Round: cfg.Round, C: c.cPriv.Public(), S: c.sPriv.Public()}, nil
}

// MinThreshold is the smallest threshold a client accepts for n clients:
// more than half of them, so that no two disjoint sets of clients could
// each rebuild a secret (a coordinator that told some it dropped and
// others it survived would otherwise obtain both of its seeds), and at
// least 2.
func MinThreshold(n int) int { return max(n/2+1, 2) }

// Share checks the coordinator's list and deals this client's shares of
// its two seeds to every client listed, each sealed to that client.
func (c *Client) Share(l *KeyList, entropy io.Reader) (*Shares, error) {
	if c.list != nil || l.Round != c.cfg.Round {
		return nil, ErrPhase
	}
	n := len(l.Clients)
	if len(l.C) != n || len(l.S) != n || !ascending(l.Clients) {
		return nil, ErrList
	}
	i, ok := slices.BinarySearch(l.Clients, c.cfg.ID)
	if !ok || l.C[i] != c.cPriv.Public() {
		return nil, ErrList
	}
	t := int(l.Threshold)
	if t < MinThreshold(n) || t > n {
		return nil, fmt.Errorf("%w: %d of %d", ErrThreshold, t, n)
	}
	c.list, c.idx = l, i
	xs := make([]uint64, n)
	for j, id := range l.Clients {
		xs[j] = point(id)
	}
	var rerr error
	shares := shareSecrets([]Secret{c.sSeed, c.b}, t, xs, words(entropy, &rerr))
	if rerr != nil {
		return nil, rerr
	}
	c.work.FieldMuls += 4 * n * (t - 1)
	out := &Shares{Round: l.Round, To: make([]ID, 0, n-1), Sealed: make([][]byte, 0, n-1)}
	c.keys = make([][]byte, n)
	for j, id := range l.Clients {
		if j == i {
			c.own, c.ownB = shares[j][0], shares[j][1]
			continue
		}
		shared, err := c.cPriv.Shared(l.C[j])
		if err != nil {
			return nil, fmt.Errorf("secagg: client %d's key: %w", id, err)
		}
		if c.keys[j], err = shareKey(shared, l.Round); err != nil {
			return nil, err
		}
		out.To = append(out.To, id)
		out.Sealed = append(out.Sealed, sealShares(c.keys[j], l.Round, c.cfg.ID, id, shares[j][0], shares[j][1]))
	}
	c.work.KeyAgreements += n - 1
	c.work.Seals += n - 1
	return out, nil
}

// Receive opens the shares the other clients dealt this one. Their
// dealers, with this client, are U2: the clients whose inputs may be in
// the sum, and with whom Mask masks.
func (c *Client) Receive(m *SharesFor) error {
	if c.list == nil || c.u2 != nil || m.Round != c.cfg.Round {
		return ErrPhase
	}
	if len(m.Sealed) != len(m.From) || !ascending(m.From) {
		return ErrList
	}
	u2 := make([]ID, 0, len(m.From)+1)
	ss := make([]Share, 0, len(m.From)+1)
	bs := make([]Share, 0, len(m.From)+1)
	self := false
	for k, id := range m.From {
		if !self && id > c.cfg.ID {
			u2, ss, bs, self = append(u2, c.cfg.ID), append(ss, c.own), append(bs, c.ownB), true
		}
		j, ok := slices.BinarySearch(c.list.Clients, id)
		if !ok || j == c.idx {
			return ErrList
		}
		s, b, err := openShares(c.keys[j], m.Round, id, c.cfg.ID, m.Sealed[k])
		if err != nil {
			return fmt.Errorf("%w (from client %d)", err, id)
		}
		u2, ss, bs = append(u2, id), append(ss, s), append(bs, b)
	}
	if !self {
		u2, ss, bs = append(u2, c.cfg.ID), append(ss, c.own), append(bs, c.ownB)
	}
	c.work.Seals += len(m.From)
	if t := int(c.list.Threshold); len(u2) < t {
		return fmt.Errorf("%w: %d clients shared, threshold %d", ErrThreshold, len(u2), t)
	}
	c.u2, c.sShares, c.bShares = u2, ss, bs
	return nil
}

// Mask returns x masked: x + PRG(b) + Σ_{v ∈ U2, v > u} PRG(s_uv) −
// Σ_{v ∈ U2, v < u} PRG(s_uv), in Z_2⁶⁴. x is not modified.
func (c *Client) Mask(x []uint64) (*Masked, error) {
	if c.u2 == nil || c.masked {
		return nil, ErrPhase
	}
	if len(x) != c.cfg.Dim {
		return nil, fmt.Errorf("%w: input of %d values, want %d", ErrMalformed, len(x), c.cfg.Dim)
	}
	y := slices.Clone(x)
	mask(y, selfSeed(c.b, c.cfg.Round), +1)
	for _, v := range c.u2 {
		if v == c.cfg.ID {
			continue
		}
		j, _ := slices.BinarySearch(c.list.Clients, v)
		shared, err := c.sPriv.Shared(c.list.S[j])
		if err != nil {
			return nil, fmt.Errorf("secagg: client %d's key: %w", v, err)
		}
		mask(y, pairSeed(shared, c.cfg.Round), pairSign(c.cfg.ID, v))
		if programPair != nil {
			programPair(c.cfg.ID, v, y)
		}
	}
	c.masked = true
	c.work.KeyAgreements += len(c.u2) - 1
	c.work.MaskWords += len(c.u2) * len(x)
	return &Masked{Round: c.cfg.Round, Y: y}, nil
}

// programPair, when set, changes the pair mask u applies for v after it
// is applied: a test programs the PRG (the random-oracle step of the
// privacy proof) to show that two inputs with the same sum can give the
// coordinator the same view. Always nil outside tests.
var programPair func(u, v ID, y []uint64)

// pairSign is how u applies the mask it shares with v: added by the lower
// ID, subtracted by the higher, so that the pair's masks cancel in a sum.
func pairSign(u, v ID) int {
	if u < v {
		return +1
	}
	return -1
}

// Unmask answers the coordinator's survivors U3 once: for each client of
// U2 its share of the self-mask seed if it survived, else of its mask
// key's seed. It refuses a U3 that is not within U2, that leaves this
// client out, or that is smaller than the threshold, and a second call
// (a coordinator that asked twice, with different survivors, could
// collect both seeds of one client).
func (c *Client) Unmask(m *Survivors) (*Unmask, error) {
	if !c.masked || c.done || m.Round != c.cfg.Round {
		return nil, ErrPhase
	}
	if !ascending(m.Clients) {
		return nil, ErrList
	}
	if t := int(c.list.Threshold); len(m.Clients) < t {
		return nil, fmt.Errorf("%w: %d survivors, threshold %d", ErrThreshold, len(m.Clients), t)
	}
	if _, ok := slices.BinarySearch(m.Clients, c.cfg.ID); !ok {
		return nil, ErrList
	}
	out := &Unmask{Round: m.Round, Owners: c.u2, Shares: make([]Share, len(c.u2))}
	k := 0
	for i, v := range c.u2 {
		for k < len(m.Clients) && m.Clients[k] < v {
			return nil, ErrList // a survivor outside U2
		}
		if k < len(m.Clients) && m.Clients[k] == v {
			out.Shares[i] = c.bShares[i]
			k++
		} else {
			out.Shares[i] = c.sShares[i]
		}
	}
	if k != len(m.Clients) {
		return nil, ErrList
	}
	c.done = true
	return out, nil
}

func ascending(ids []ID) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return false
		}
	}
	return true
}
