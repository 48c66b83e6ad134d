package chain

import "errors"

// Rejected is a transaction turned away by the mempool, for a runner to
// emit when AddTx fails (the Ledger cannot emit; see Applied). Reason is
// Reason(err).
type Rejected struct {
	Type   TxType
	Reason string
}

// Kind implements metrics.Event.
func (Rejected) Kind() string { return "chain.rejected" }

// reasonKeys name the sentinel errors in stable snake_case, for metrics keys.
var reasonKeys = []struct {
	err error
	key string
}{
	{ErrBadSignature, "bad_signature"}, {ErrNonce, "nonce"}, {ErrNoStake, "no_stake"},
	{ErrOverdraft, "overdraft"}, {ErrFeeTooLow, "fee_too_low"}, {ErrTxTooLarge, "too_large"},
	{ErrSystemTx, "system_tx"}, {ErrBadTx, "invalid"}, {ErrOverflow, "overflow"},
	{ErrUnknownJob, "unknown_job"}, {ErrDuplicate, "duplicate"}, {ErrNoProposal, "unknown_proposal"},
	{ErrVotingClosed, "voting_closed"}, {ErrBadEvidence, "bad_evidence"}, {ErrKnownTx, "known"},
	{ErrMempoolFull, "mempool_full"}, {ErrUnknownKind, "unknown_kind"}, {ErrNonCanonical, "non_canonical"},
	{ErrMalformed, "malformed"},
}

// Reason returns a stable snake_case name for why a transaction was
// rejected ("bad_signature", "nonce", "overdraft", …), "other" for an error
// of no listed kind, and "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasonKeys {
		if errors.Is(err, r.err) {
			return r.key
		}
	}
	return "other"
}

// Submitted is emitted by a Client for each transaction it sends.
type Submitted struct {
	Type       TxType
	Nonce, Fee uint64
}

// Kind implements metrics.Event.
func (Submitted) Kind() string { return "chain.submitted" }

// Throttled is emitted by a Client that skips a turn because Pending of
// its transactions are not committed yet (ClientConfig.MaxPending).
type Throttled struct {
	Pending uint64
}

// Kind implements metrics.Event.
func (Throttled) Kind() string { return "chain.throttled" }

// Resynced is emitted by a Client that gives up Abandoned transactions for
// lost and numbers its next one Nonce, the committed nonce.
type Resynced struct {
	Nonce, Abandoned uint64
}

// Kind implements metrics.Event.
func (Resynced) Kind() string { return "chain.resynced" }
