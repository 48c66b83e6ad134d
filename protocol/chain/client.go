package chain

import (
	"crypto/ed25519"
	"math"

	"github.com/dais-sim/dais/protocol"
)

// ClientConfig is what a Client needs.
type ClientConfig struct {
	// Key signs the client's transfers; its account pays them.
	Key ed25519.PrivateKey
	// Rate is transfers per second. Gaps between transfers are exponential
	// (a Poisson process), drawn from the node's own stream; 0 sends none.
	Rate float64
	// Targets are the nodes that take transactions (validators, miners).
	// The client sends every transfer to the same Fanout of them, drawn when
	// it starts and again when it resyncs (its nodes may be down or cut
	// off); Fanout 0, or at least len(Targets), sends to all. The client's
	// own node is skipped. Keeping to the same nodes keeps a client's
	// transfers in nonce order along each path, which a mempool that takes
	// nonces only in order needs: transfers drawn to different nodes would
	// race each other when relayed.
	Targets []protocol.NodeID
	Fanout  int
	// Recipients are the accounts transfers pay, drawn uniformly; the
	// client's own account is skipped.
	Recipients []Address
	// MaxAmount bounds a transfer, drawn uniformly in 1 … MaxAmount base
	// units. 0 means 1,000.
	MaxAmount uint64
	// Params are the chain's rules: every transfer pays MinGasPrice for
	// the gas of the largest transfer, so none is refused for its fee.
	Params Params
	// Ledger is the node's own replica, if it has one. The client reads its
	// account's committed nonce there to bound what it has in flight
	// (MaxPending) and to notice lost transfers (Resync); without one,
	// nonces only go up and a lost transfer blocks the later ones.
	Ledger *Ledger
	// MaxPending bounds transfers sent but not committed: a client that
	// reaches it skips its turns until the chain catches up. 0 means three
	// quarters of Params.MempoolMaxPerSender, so mempools never refuse the
	// client for it. A client sends at most about MaxPending per block
	// interval.
	MaxPending int
	// Resync is how long the committed nonce may stand still while
	// transfers are pending before the client takes them for lost (dropped
	// by the network, reordered past a mempool that wants nonces in order,
	// evicted) and numbers its next transfer from the committed nonce
	// again. 0 means 30 s.
	Resync protocol.Duration
	// Inner, if not nil, is the node the client runs beside (a validator
	// or full node holding Ledger). It gets every input except the
	// client's own timer, first.
	Inner protocol.Node
}

// Client is a protocol.Node that submits signed transfers to the nodes
// that take transactions: a wallet putting load on the chain. A driver adds
// it in place of the node it wraps (ClientConfig.Inner):
//
//	c := chain.NewClient(chain.ClientConfig{Key: chain.KeyFor(seed, id), Rate: 0.5,
//		Targets: validators, Fanout: 2, Recipients: addrs, Params: p, Ledger: l, Inner: node})
//
// Transfers are numbered by consecutive nonces, as the ledger requires.
// A client emits Submitted for each transfer, Throttled for a turn it
// skipped and Resynced when it gives transfers up for lost.
type Client struct {
	cfg     ClientConfig
	addr    Address
	fee     uint64
	targets []protocol.NodeID // Targets without the client's node; the first fanout are the ones in use
	fanout  int
	to      []Address
	next    uint64        // nonce of the next transfer
	seen    uint64        // committed nonce when last read
	since   protocol.Time // when the client last saw a commit, or had nothing in flight
	timer   protocol.TimerID
	armed   bool
	self    protocol.NodeID
	started bool
}

// NewClient returns a client.
func NewClient(cfg ClientConfig) *Client {
	if cfg.MaxAmount == 0 {
		cfg.MaxAmount = 1000
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = max(1, cfg.Params.MempoolMaxPerSender*3/4)
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * protocol.Second
	}
	c := &Client{cfg: cfg, addr: AddressOf(cfg.Key)}
	c.fee = transferFee(cfg.Params, PubKeyOf(cfg.Key))
	for _, a := range cfg.Recipients {
		if a != c.addr {
			c.to = append(c.to, a)
		}
	}
	return c
}

// transferFee is the fee that covers the gas of any transfer from sender:
// the gas of one with every integer at its largest.
func transferFee(p Params, sender PubKey) uint64 {
	probe := Tx{Type: TxTransfer, Sender: sender, Nonce: math.MaxUint64, Fee: math.MaxUint64,
		Payload: marshal(Transfer{Amount: math.MaxUint64}), Sig: make([]byte, ed25519.SignatureSize)}
	return p.Gas.Gas(TxTransfer, len(probe.Encoded())) * p.MinGasPrice
}

// Address is the account the client pays from.
func (c *Client) Address() Address { return c.addr }

// Handle implements protocol.Node.
func (c *Client) Handle(env protocol.Env, in protocol.Input) {
	if t, ok := in.(protocol.TimerFired); ok && c.armed && t.ID == c.timer {
		c.armed = false
		c.submit(env)
		c.arm(env)
		return
	}
	if c.cfg.Inner != nil {
		c.cfg.Inner.Handle(env, in)
	}
	switch in.(type) {
	case protocol.Start:
		if !c.started {
			c.started, c.self, c.since = true, env.Self(), env.Now()
			for _, t := range c.cfg.Targets {
				if t != c.self {
					c.targets = append(c.targets, t)
				}
			}
			c.fanout = c.cfg.Fanout
			if c.fanout <= 0 || c.fanout > len(c.targets) {
				c.fanout = len(c.targets)
			}
			c.draw(env)
		}
		c.armed = false // a node's timers die when it leaves
		c.arm(env)
	case protocol.Stop:
		c.armed = false
	}
}

func (c *Client) arm(env protocol.Env) {
	if c.cfg.Rate <= 0 || len(c.targets) == 0 || len(c.to) == 0 {
		return
	}
	gap := env.Rand().ExpFloat64() / c.cfg.Rate * float64(protocol.Second)
	c.timer = env.SetTimer(protocol.Duration(gap), 0)
	c.armed = true
}

// draw picks the nodes the client sends to: a partial shuffle of targets.
func (c *Client) draw(env protocol.Env) {
	if c.fanout == len(c.targets) {
		return
	}
	r := env.Rand()
	for i := 0; i < c.fanout; i++ {
		j := i + r.IntN(len(c.targets)-i)
		c.targets[i], c.targets[j] = c.targets[j], c.targets[i]
	}
}

// submit signs and sends the next transfer, unless too many are in flight.
func (c *Client) submit(env protocol.Env) {
	if l := c.cfg.Ledger; l != nil {
		now := env.Now()
		committed := l.Account(c.addr).Nonce
		c.next = max(c.next, committed)
		// The wait runs from the last commit of the client's transfers, or
		// from this turn if it has none in flight.
		if committed != c.seen || c.next == committed {
			c.seen, c.since = committed, now
		}
		pending := c.next - committed
		if pending > 0 && now.Sub(c.since) >= c.cfg.Resync {
			env.Emit(Resynced{Nonce: committed, Abandoned: pending})
			c.next, c.since, pending = committed, now, 0
			c.draw(env)
		}
		if pending >= uint64(c.cfg.MaxPending) {
			env.Emit(Throttled{Pending: pending})
			return
		}
	}
	r := env.Rand()
	to := c.to[r.IntN(len(c.to))]
	amount := 1 + r.Uint64N(c.cfg.MaxAmount)
	tx := Sign(c.cfg.Key, NewTransfer(c.next, c.fee, to, amount))
	for _, t := range c.targets[:c.fanout] {
		env.Send(t, tx)
	}
	env.Emit(Submitted{Type: TxTransfer, Nonce: c.next, Fee: c.fee})
	c.next++
}
