package chain

import (
	"errors"
	"fmt"

	"github.com/dais-sim/dais/protocol/consensus"
)

// Reasons a transaction is rejected, by the mempool or inside a block. They
// are wrapped with detail ("chain: nonce 3 reused: next is 5"): test with
// errors.Is.
var (
	ErrMalformed     = errors.New("chain: malformed encoding")
	ErrNonCanonical  = errors.New("chain: non-canonical encoding")
	ErrUnknownKind   = errors.New("chain: unknown transaction kind")
	ErrBadSignature  = errors.New("chain: bad signature")
	ErrNonce         = errors.New("chain: wrong nonce")
	ErrOverdraft     = errors.New("chain: overdraft")
	ErrFeeTooLow     = errors.New("chain: fee below the minimum")
	ErrTxTooLarge    = errors.New("chain: transaction too large")
	ErrSystemTx      = errors.New("chain: system transaction outside its place")
	ErrBadTx         = errors.New("chain: invalid transaction")
	ErrOverflow      = errors.New("chain: amount overflows")
	ErrUnknownJob    = errors.New("chain: unknown job")
	ErrDuplicate     = errors.New("chain: already recorded")
	ErrNoProposal    = errors.New("chain: unknown proposal")
	ErrVotingClosed  = errors.New("chain: voting closed")
	ErrBadEvidence   = errors.New("chain: evidence rejected")
	ErrKnownTx       = errors.New("chain: transaction already in the mempool")
	ErrMempoolFull   = errors.New("chain: mempool full")
	ErrNoStake       = fmt.Errorf("%w of stake", ErrOverdraft)
	ErrConservation  = errors.New("chain: tokens not conserved")
	ErrUnknownParent = consensus.ErrUnknownParent // a longest-chain engine holds such a block for its parent
)

// Reasons CheckBlock rejects a block. An invalid transaction inside a block
// is reported with its index, wrapping the transaction's reason.
var (
	ErrHeight        = errors.New("chain: wrong height")
	ErrPrevHash      = errors.New("chain: wrong previous hash")
	ErrTxRoot        = errors.New("chain: wrong transaction root")
	ErrStateRoot     = errors.New("chain: wrong state root")
	ErrBlockTooLarge = errors.New("chain: block over the size limit")
	ErrGasLimit      = errors.New("chain: block over the gas limit")
	ErrForgedReward  = errors.New("chain: reward not per the emission schedule")
)
