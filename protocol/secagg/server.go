package secagg

import (
	"errors"
	"fmt"
	"slices"
)

// Phases of a round, as Failure names them.
const (
	PhaseKeys    = "advertise keys"
	PhaseShares  = "share keys"
	PhaseMasked  = "masked inputs"
	PhaseUnmask  = "unmasking"
	PhaseRebuild = "rebuilding a seed"
)

// Failure is a round that could not complete: too few clients reached a
// phase (more than n − t dropped out), or the shares did not rebuild a
// seed. Nothing about any input is learnt from a failed round.
type Failure struct {
	Round      uint64
	Phase      string
	Have, Need int
	Detail     string
}

func (f *Failure) Error() string {
	if f.Detail != "" {
		return fmt.Sprintf("secagg: round %d failed at %s: %s", f.Round, f.Phase, f.Detail)
	}
	return fmt.Sprintf("secagg: round %d failed at %s: %d clients, threshold %d", f.Round, f.Phase, f.Have, f.Need)
}

// ErrRejected means a message the server refuses (wrong round, phase or
// sender, or malformed); the round goes on without it.
var ErrRejected = errors.New("secagg: message refused")

// ServerConfig configures the coordinator's part in one round.
type ServerConfig struct {
	Round     uint64
	Threshold int
	Dim       int
	// KA is the key agreement; nil is X25519.
	KA KeyAgreement
}

// Server is the coordinator of one round. It collects each phase's
// messages with Add…, and a Close… call ends the phase (when every
// client has answered or a timeout passed) and returns what to send next,
// or a *Failure when fewer than the threshold answered. Sum unmasks the
// sum of the surviving clients' inputs. The server only ever holds masked
// inputs, sealed shares and the shares that unmask the sum: with at most
// t − 1 clients colluding with it, it learns the sum and nothing else
// about any input (Bonawitz et al., Theorem 6.3). Not safe for concurrent use.
type Server struct {
	cfg ServerConfig

	keys   map[ID]*Keys
	list   *KeyList
	shares map[ID]*Shares
	u2     []ID
	masked map[ID][]uint64
	u3     []ID
	unmask map[ID]*Unmask

	work Work
}

// NewServer returns the server of one round.
func NewServer(cfg ServerConfig) *Server {
	if cfg.KA == nil {
		cfg.KA = X25519{}
	}
	return &Server{cfg: cfg, keys: map[ID]*Keys{}}
}

// Work is the operations the server has performed so far.
func (s *Server) Work() Work { return s.work }

// Counts returns how many clients reached each phase: advertised keys
// (U1), shared (U2), sent a masked input (U3), answered the unmasking
// (U5).
func (s *Server) Counts() (u1, u2, u3, u5 int) {
	if s.list != nil {
		u1 = len(s.list.Clients)
	} else {
		u1 = len(s.keys)
	}
	u2, u3 = len(s.u2), len(s.u3)
	if s.u2 == nil {
		u2 = len(s.shares)
	}
	if s.u3 == nil {
		u3 = len(s.masked)
	}
	return u1, u2, u3, len(s.unmask)
}

func (s *Server) fail(phase string, have int) error {
	return &Failure{Round: s.cfg.Round, Phase: phase, Have: have, Need: s.cfg.Threshold}
}

// AddKeys records a client's keys.
func (s *Server) AddKeys(from ID, m *Keys) error {
	if s.list != nil || m.Round != s.cfg.Round || s.keys[from] != nil {
		return ErrRejected
	}
	s.keys[from] = m
	return nil
}

// CloseKeys ends key advertisement: the KeyList to send every client in it.
func (s *Server) CloseKeys() (*KeyList, error) {
	if s.list != nil {
		return nil, ErrPhase
	}
	if len(s.keys) < s.cfg.Threshold {
		return nil, s.fail(PhaseKeys, len(s.keys))
	}
	l := &KeyList{Round: s.cfg.Round, Threshold: uint32(s.cfg.Threshold)}
	for id := range s.keys {
		l.Clients = append(l.Clients, id)
	}
	slices.Sort(l.Clients)
	for _, id := range l.Clients {
		l.C, l.S = append(l.C, s.keys[id].C), append(l.S, s.keys[id].S)
	}
	s.list, s.shares = l, map[ID]*Shares{}
	return l, nil
}

func (s *Server) listed(id ID) bool {
	_, ok := slices.BinarySearch(s.list.Clients, id)
	return ok
}

// AddShares records a client's sealed shares: one for every other client
// of the KeyList, in order.
func (s *Server) AddShares(from ID, m *Shares) error {
	if s.list == nil || s.u2 != nil || m.Round != s.cfg.Round || !s.listed(from) || s.shares[from] != nil {
		return ErrRejected
	}
	if len(m.To) != len(s.list.Clients)-1 || len(m.Sealed) != len(m.To) {
		return ErrRejected
	}
	j := 0
	for _, id := range s.list.Clients {
		if id == from {
			continue
		}
		if m.To[j] != id || len(m.Sealed[j]) != sealedShareSize {
			return ErrRejected
		}
		j++
	}
	s.shares[from] = m
	return nil
}

// CloseShares ends the sharing: U2 is the clients that shared, and each
// gets a SharesFor with what the others of U2 dealt it (deliveries are in
// ascending order of client).
func (s *Server) CloseShares() ([]Delivery, error) {
	if s.list == nil || s.u2 != nil {
		return nil, ErrPhase
	}
	if len(s.shares) < s.cfg.Threshold {
		return nil, s.fail(PhaseShares, len(s.shares))
	}
	for _, id := range s.list.Clients {
		if s.shares[id] != nil {
			s.u2 = append(s.u2, id)
		}
	}
	out := make([]Delivery, len(s.u2))
	for i, to := range s.u2 {
		m := &SharesFor{Round: s.cfg.Round, From: make([]ID, 0, len(s.u2)-1), Sealed: make([][]byte, 0, len(s.u2)-1)}
		for _, from := range s.u2 {
			if from == to {
				continue
			}
			sh := s.shares[from]
			k, _ := slices.BinarySearch(sh.To, to)
			m.From, m.Sealed = append(m.From, from), append(m.Sealed, sh.Sealed[k])
		}
		out[i] = Delivery{To: to, Msg: m}
	}
	s.masked = map[ID][]uint64{}
	return out, nil
}

// Delivery is a message for one client.
type Delivery struct {
	To  ID
	Msg *SharesFor
}

// U2 is the clients that shared, ascending; nil before CloseShares.
func (s *Server) U2() []ID { return s.u2 }

// AddMasked records a client's masked input.
func (s *Server) AddMasked(from ID, m *Masked) error {
	if s.masked == nil || s.u3 != nil || m.Round != s.cfg.Round || s.masked[from] != nil || len(m.Y) != s.cfg.Dim {
		return ErrRejected
	}
	if _, ok := slices.BinarySearch(s.u2, from); !ok {
		return ErrRejected
	}
	s.masked[from] = m.Y
	return nil
}

// CloseMasked ends input collection: the Survivors message to send each
// of them.
func (s *Server) CloseMasked() (*Survivors, error) {
	if s.masked == nil || s.u3 != nil {
		return nil, ErrPhase
	}
	if len(s.masked) < s.cfg.Threshold {
		return nil, s.fail(PhaseMasked, len(s.masked))
	}
	for _, id := range s.u2 {
		if s.masked[id] != nil {
			s.u3 = append(s.u3, id)
		}
	}
	s.unmask = map[ID]*Unmask{}
	return &Survivors{Round: s.cfg.Round, Clients: s.u3}, nil
}

// U3 is the clients whose masked inputs are in the sum, ascending; nil
// before CloseMasked.
func (s *Server) U3() []ID { return s.u3 }

// AddUnmask records a survivor's shares.
func (s *Server) AddUnmask(from ID, m *Unmask) error {
	if s.unmask == nil || m.Round != s.cfg.Round || s.unmask[from] != nil ||
		!slices.Equal(m.Owners, s.u2) || len(m.Shares) != len(m.Owners) {
		return ErrRejected
	}
	if _, ok := slices.BinarySearch(s.u3, from); !ok {
		return ErrRejected
	}
	s.unmask[from] = m
	return nil
}

// Sum rebuilds the seeds it needs from the first t survivors' shares (by
// ID) and returns Σ_{u ∈ U3} x_u: the masked inputs' sum less each
// survivor's self mask and the pairwise masks that survivors shared with
// clients that dropped after sharing. A mask key seed that does not
// rebuild the dropped client's advertised key fails the round.
func (s *Server) Sum() ([]uint64, error) {
	if s.unmask == nil {
		return nil, ErrPhase
	}
	t := s.cfg.Threshold
	if len(s.unmask) < t {
		return nil, s.fail(PhaseUnmask, len(s.unmask))
	}
	var responders []ID
	for _, id := range s.u3 {
		if s.unmask[id] != nil && len(responders) < t {
			responders = append(responders, id)
		}
	}
	xs := make([]uint64, t)
	for i, id := range responders {
		xs[i] = point(id)
	}
	lam, err := lagrangeAtZero(xs)
	if err != nil {
		return nil, err
	}
	s.work.FieldMuls += 3 * t * t
	sum := make([]uint64, s.cfg.Dim)
	for _, id := range s.u3 {
		for i, y := range s.masked[id] {
			sum[i] += y
		}
	}
	shares := make([]Share, t)
	seed := func(k int) Secret {
		for i, r := range responders {
			shares[i] = s.unmask[r].Shares[k]
		}
		s.work.FieldMuls += 2 * t
		return combine(lam, shares)
	}
	for k, u := range s.u2 {
		if _, survived := slices.BinarySearch(s.u3, u); survived {
			mask(sum, selfSeed(seed(k), s.cfg.Round), -1)
			s.work.MaskWords += s.cfg.Dim
			continue
		}
		priv := s.cfg.KA.Private(privateOf(seed(k), s.cfg.Round))
		j, _ := slices.BinarySearch(s.list.Clients, u)
		s.work.KeyAgreements++
		if priv.Public() != s.list.S[j] {
			return nil, &Failure{Round: s.cfg.Round, Phase: PhaseRebuild, Have: len(s.unmask), Need: t,
				Detail: fmt.Sprintf("the shares of client %d's mask key do not rebuild its advertised key", u)}
		}
		for _, v := range s.u3 {
			k, _ := slices.BinarySearch(s.list.Clients, v)
			shared, err := priv.Shared(s.list.S[k])
			if err != nil {
				return nil, err
			}
			// v applied the pair's mask with pairSign(v, u); undo it.
			mask(sum, pairSeed(shared, s.cfg.Round), -pairSign(v, u))
		}
		s.work.KeyAgreements += len(s.u3)
		s.work.MaskWords += len(s.u3) * s.cfg.Dim
	}
	return sum, nil
}
