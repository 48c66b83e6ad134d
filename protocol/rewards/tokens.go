package rewards

import (
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/protocol"
)

// Tokens is an amount in base units: 10⁻⁹ token, the unit of
// scenarios.Tokens and of the ledger (protocol/chain keeps uint64 base
// units, so a negative balance cannot be represented; so do we).
type Tokens uint64

// Token is one whole token in base units.
const Token Tokens = 1_000_000_000

// String prints the amount as a decimal number of tokens, without trailing
// zeros: "1.5" for 1,500,000,000 base units.
func (t Tokens) String() string {
	s := strconv.FormatUint(uint64(t), 10)
	for len(s) <= 9 {
		s = "0" + s
	}
	whole, frac := s[:len(s)-9], strings.TrimRight(s[len(s)-9:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// Float returns the amount in whole tokens, for reports only.
func (t Tokens) Float() float64 { return float64(t) / float64(Token) }

// Bps is a fraction in basis points: 10,000 is the whole.
type Bps uint32

// BpsOne is the fraction 1.
const BpsOne Bps = 10_000

// Of returns ⌊x·b/10,000⌋ without overflow; b must be at most BpsOne.
func (b Bps) Of(x Tokens) Tokens { return Tokens(mulDiv(uint64(x), uint64(b), uint64(BpsOne))) }

func (b Bps) String() string { return fmt.Sprintf("%d bps", uint32(b)) }

// PPM is a fraction in parts per million: 1,000,000 is the whole. Scores
// in [0, 1] (quality, uniqueness, accuracy) are PPM so that weights stay
// integers.
type PPM uint32

// PPMOne is the fraction 1.
const PPMOne PPM = 1_000_000

// mulDiv returns ⌊a·b/c⌋; the quotient must fit in 64 bits (it does when
// b ≤ c), or it panics.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// add returns a+b and whether it overflowed.
func add(a, b Tokens) (Tokens, bool) {
	s, c := bits.Add64(uint64(a), uint64(b), 0)
	return Tokens(s), c != 0
}

// Account identifies a recipient: an opaque key (a ledger address as a
// string of its bytes, or NodeAccount of a node). Only equality and order
// matter: every output lists accounts in ascending byte order.
type Account string

// NodeAccount is the account of a node identified only by its NodeID. The
// fixed-width hex keeps byte order equal to numeric order.
func NodeAccount(id protocol.NodeID) Account { return Account(fmt.Sprintf("node/%08x", uint32(id))) }

// NodeOf returns the node of an account made by NodeAccount.
func NodeOf(a Account) (protocol.NodeID, bool) {
	s, ok := strings.CutPrefix(string(a), "node/")
	if !ok || len(s) != 8 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || Account(fmt.Sprintf("node/%08x", uint32(v))) != a {
		return 0, false
	}
	return protocol.NodeID(v), true
}

func bigU(x uint64) *big.Int { return new(big.Int).SetUint64(x) }
