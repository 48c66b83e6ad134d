package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

// Hash is a SHA-256 digest: of a transaction's or a block's canonical
// encoding, a Merkle root, or a state root.
type Hash = consensus.Hash

// TxType says what a transaction does and how its payload is read.
type TxType uint8

// Transaction types. Numbers are part of the encoding: never reuse one.
const (
	TxTransfer   TxType = iota + 1 // Transfer: move tokens to another account
	TxStake                        // Stake: bond balance as stake
	TxUnstake                      // Unstake: start unbonding stake
	TxJobPost                      // JobPost: post a job, locking its budget in escrow
	TxResult                       // ResultCommit: commit a result hash for a job's work unit
	TxReward                       // Reward: the block's minted reward (system only)
	TxSlash                        // Slash: burn part of an offender's stake, with evidence
	TxProposal                     // Proposal: open a governance proposal
	TxVote                         // Vote: vote on a proposal
	TxSettle                       // Settle: release a job's escrow (the market's settler only)
	TxPayout                       // Payout: pay many accounts from the sender's balance
	TxVersion                      // VersionCommit: record a model version and its parent (the settler only)
	TxUse                          // Use: a request to a model version, paying its price
	TxResultRoot                   // ResultRoot: commit a batch of results by its Merkle root (the market's settler only)
	numKinds
)

var typeNames = [numKinds]string{"invalid", "transfer", "stake", "unstake", "job-post", "result", "reward", "slash", "proposal", "vote", "settle", "payout", "version", "use", "result-root"}

// Valid reports whether t is a known type.
func (t TxType) Valid() bool { return t > 0 && t < numKinds }

func (t TxType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("TxType(%d)", uint8(t))
}

// Payloads, one per type. Each is encoded as a CBOR array in field order.
type (
	// Transfer moves Amount from the sender's balance to To.
	Transfer struct {
		_      struct{} `cbor:",toarray"`
		To     Address
		Amount uint64
	}
	// Stake moves Amount from the sender's balance to its stake.
	Stake struct {
		_      struct{} `cbor:",toarray"`
		Amount uint64
	}
	// Unstake moves Amount of the sender's stake to the unbonding queue;
	// it returns to the balance Params.UnbondingBlocks blocks later.
	Unstake struct {
		_      struct{} `cbor:",toarray"`
		Amount uint64
	}
	// JobPost locks Budget of the sender's balance in escrow under the job
	// ID JobIDFor(sender, nonce). Spec is opaque to the ledger (the
	// marketplace reads it).
	JobPost struct {
		_      struct{} `cbor:",toarray"`
		Budget uint64
		Spec   []byte
	}
	// ResultCommit records that the sender computed Result (a hash) for
	// work unit Unit of Job. Payment is the marketplace's business; the
	// ledger records the commitment and charges the fee.
	ResultCommit struct {
		_      struct{} `cbor:",toarray"`
		Job    JobID
		Unit   uint32
		Result Hash
	}
	// Reward mints Amount to To: the first transaction of a block when the
	// emission schedule pays at its height. It is unsigned, its sender is
	// the zero key, its nonce is the block height and its fee 0; users
	// cannot submit one.
	Reward struct {
		_      struct{} `cbor:",toarray"`
		To     Address
		Amount uint64
	}
	// Slash burns Params.SlashFraction of Offender's stake. Evidence is
	// opaque to the ledger: Config.VerifyEvidence judges it, and each piece
	// of evidence (by hash) is used once.
	Slash struct {
		_        struct{} `cbor:",toarray"`
		Offender Address
		Evidence []byte
	}
	// Proposal opens a governance proposal with an opaque body; it gets
	// the next proposal number (1, 2, …).
	Proposal struct {
		_    struct{} `cbor:",toarray"`
		Body []byte
	}
	// Vote records the sender's choice on a proposal; a later vote by the
	// same sender replaces it.
	Vote struct {
		_        struct{} `cbor:",toarray"`
		Proposal uint64
		Choice   Choice
	}
)

// Choice is a vote's choice.
type Choice uint8

// Choices.
const (
	VoteYes Choice = iota + 1
	VoteNo
	VoteAbstain
)

// JobID names a job: the first 16 bytes of SHA-256("dais/job" ‖ poster ‖
// nonce as 8 big-endian bytes). Derived rather than chosen, so that no one
// can claim another poster's ID, and the poster knows it before inclusion.
type JobID [16]byte

// JobIDFor returns the ID of the job posted by poster's transaction with
// the given nonce.
func JobIDFor(poster Address, nonce uint64) JobID {
	var b [8 + AddressSize + 8]byte
	copy(b[:], "dais/job")
	copy(b[8:], poster[:])
	binary.BigEndian.PutUint64(b[8+AddressSize:], nonce)
	h := sha256.Sum256(b[:])
	var id JobID
	copy(id[:], h[:])
	return id
}

// Tx is a signed transaction. Its canonical encoding is the CBOR array
// [type, sender, nonce, fee, payload, sig]; the signature is ed25519 by the
// sender's key over "dais/tx/v1\x00" followed by that encoding without its
// last item (the signature), so it covers every other field exactly as
// encoded.
//
// A Tx is immutable once used: Sign, NewReward and DecodeTx return it with
// its encoding, hash and payload cached, and those may then be read from any
// number of goroutines. A Tx built as a literal fills its cache on first
// use; changing a field afterwards is a programming error.
type Tx struct {
	_       struct{} `cbor:",toarray"`
	Type    TxType
	Sender  PubKey
	Nonce   uint64
	Fee     uint64
	Payload cbor.RawMessage // the type's payload struct, canonical CBOR
	Sig     []byte          // 64 bytes; empty for the reward system transaction

	enc     []byte // canonical encoding
	hash    Hash
	from    Address
	body    any // the decoded payload (Transfer, Stake, …), or nil
	bodyErr error
}

// txFields is Tx without its methods, for the CBOR codec.
type txFields Tx

// signDomain separates transaction signatures from any other use of a key.
const signDomain = "dais/tx/v1\x00"

func init() {
	wire.Register(wire.KindTx, "chain.Tx", func(body []byte) (wire.Msg, error) { return DecodeTx(body) })
}

// NewTx returns an unsigned transaction of type t whose payload is the
// canonical encoding of body. Sign it with Sign.
func NewTx(t TxType, nonce, fee uint64, body any) Tx {
	return Tx{Type: t, Nonce: nonce, Fee: fee, Payload: marshal(body)}
}

// NewTransfer returns an unsigned transfer of amount to to.
func NewTransfer(nonce, fee uint64, to Address, amount uint64) Tx {
	return NewTx(TxTransfer, nonce, fee, Transfer{To: to, Amount: amount})
}

// NewStake returns an unsigned stake of amount.
func NewStake(nonce, fee, amount uint64) Tx { return NewTx(TxStake, nonce, fee, Stake{Amount: amount}) }

// NewUnstake returns an unsigned unstake of amount.
func NewUnstake(nonce, fee, amount uint64) Tx {
	return NewTx(TxUnstake, nonce, fee, Unstake{Amount: amount})
}

// NewJobPost returns an unsigned job post escrowing budget; the job's ID is
// JobIDFor(sender, nonce).
func NewJobPost(nonce, fee, budget uint64, spec []byte) Tx {
	return NewTx(TxJobPost, nonce, fee, JobPost{Budget: budget, Spec: spec})
}

// NewResultCommit returns an unsigned result commitment.
func NewResultCommit(nonce, fee uint64, job JobID, unit uint32, result Hash) Tx {
	return NewTx(TxResult, nonce, fee, ResultCommit{Job: job, Unit: unit, Result: result})
}

// NewSlash returns an unsigned slash of offender with evidence.
func NewSlash(nonce, fee uint64, offender Address, evidence []byte) Tx {
	return NewTx(TxSlash, nonce, fee, Slash{Offender: offender, Evidence: evidence})
}

// NewProposal returns an unsigned governance proposal.
func NewProposal(nonce, fee uint64, body []byte) Tx {
	return NewTx(TxProposal, nonce, fee, Proposal{Body: body})
}

// NewVote returns an unsigned vote.
func NewVote(nonce, fee, proposal uint64, choice Choice) Tx {
	return NewTx(TxVote, nonce, fee, Vote{Proposal: proposal, Choice: choice})
}

// NewReward returns the reward system transaction of the block at height.
func NewReward(height uint64, to Address, amount uint64) *Tx {
	tx := NewTx(TxReward, height, 0, Reward{To: to, Amount: amount})
	tx.seal()
	return &tx
}

// Sign sets tx's sender to key's public key, signs it, and returns it
// sealed (encoding and hash cached).
func Sign(key ed25519.PrivateKey, tx Tx) *Tx {
	tx.Sender, tx.Sig = PubKeyOf(key), nil
	tx.enc = nil
	unsigned := marshal((*txFields)(&tx)) // ends with the empty signature, 0x40
	tx.Sig = ed25519.Sign(key, signingBytes(unsigned[:len(unsigned)-1]))
	tx.seal()
	return &tx
}

// signingBytes is what a signature covers, given the encoding without its
// signature item.
func signingBytes(unsigned []byte) []byte {
	return append([]byte(signDomain), unsigned...)
}

// seal fills the cache from the fields.
func (tx *Tx) seal() {
	if tx.enc == nil {
		tx.fill(marshal((*txFields)(tx)))
	}
}

// fill sets the cache from enc, the transaction's canonical encoding.
func (tx *Tx) fill(enc []byte) {
	tx.enc = enc
	tx.hash = sha256.Sum256(enc)
	tx.from = tx.Sender.Address()
	tx.body, tx.bodyErr = decodeBody(tx.Type, tx.Payload)
}

// signedPart returns the encoding without the signature item.
func (tx *Tx) signedPart() []byte {
	return tx.enc[:len(tx.enc)-bstrHeadSize(len(tx.Sig))-len(tx.Sig)]
}

// verify checks the signature.
func (tx *Tx) verify() error {
	tx.seal()
	if len(tx.Sig) != ed25519.SignatureSize ||
		!ed25519.Verify(tx.Sender[:], signingBytes(tx.signedPart()), tx.Sig) {
		return fmt.Errorf("%w: %s tx %x from %s", ErrBadSignature, tx.Type, tx.hash[:6], tx.from)
	}
	return nil
}

// Hash returns SHA-256 of the canonical encoding (signature included).
func (tx *Tx) Hash() Hash { tx.seal(); return tx.hash }

// From returns the sender's address.
func (tx *Tx) From() Address { tx.seal(); return tx.from }

// Body returns the decoded payload (Transfer, Stake, …), or nil if the
// payload does not decode as the type's.
func (tx *Tx) Body() any { tx.seal(); return tx.body }

// Encoded returns the canonical encoding. The caller must not modify it.
func (tx *Tx) Encoded() []byte { tx.seal(); return tx.enc }

// Kind implements wire.Msg.
func (*Tx) Kind() wire.Kind { return wire.KindTx }

// AppendBody implements wire.Msg: the body is the canonical CBOR encoding.
func (tx *Tx) AppendBody(b []byte) []byte { tx.seal(); return append(b, tx.enc...) }

// WireSize implements wire.Msg.
func (tx *Tx) WireSize() int { tx.seal(); return wire.HeaderSize(wire.KindTx) + len(tx.enc) }

// MarshalCBOR implements cbor.Marshaler with the cached encoding, so a
// block is encoded without re-encoding its transactions.
func (tx *Tx) MarshalCBOR() ([]byte, error) { tx.seal(); return tx.enc, nil }

// UnmarshalCBOR implements cbor.Unmarshaler with the rules of DecodeTx.
func (tx *Tx) UnmarshalCBOR(data []byte) error {
	if len(data) > MaxTxBytes {
		return fmt.Errorf("%w: %d bytes > %d", ErrTxTooLarge, len(data), MaxTxBytes)
	}
	var f txFields
	if err := decMode.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%w: tx: %v", ErrMalformed, err)
	}
	if len(f.Sig) == 0 {
		f.Sig = nil
	}
	*tx = Tx(f)
	enc := marshal((*txFields)(tx))
	if string(enc) != string(data) {
		return fmt.Errorf("%w: tx", ErrNonCanonical)
	}
	tx.fill(enc)
	return tx.wellFormed()
}

// wellFormed checks what can be checked without state: a known type, a
// payload that decodes canonically as the type's, a signature of the right
// size (none for a reward, whose sender is the zero key and fee zero).
func (tx *Tx) wellFormed() error {
	if !tx.Type.Valid() {
		return fmt.Errorf("%w %d", ErrUnknownKind, tx.Type)
	}
	if tx.bodyErr != nil {
		return fmt.Errorf("%s payload: %w", tx.Type, tx.bodyErr)
	}
	if tx.Type == TxReward {
		if len(tx.Sig) != 0 || tx.Sender != (PubKey{}) || tx.Fee != 0 {
			return fmt.Errorf("%w: a reward has no signature, sender or fee", ErrMalformed)
		}
		return nil
	}
	if len(tx.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature of %d bytes", ErrMalformed, len(tx.Sig))
	}
	return nil
}

// DecodeTx decodes a transaction's canonical encoding (a wire body). It
// rejects non-canonical or malformed input, and never panics.
func DecodeTx(b []byte) (*Tx, error) {
	tx := new(Tx)
	if err := tx.UnmarshalCBOR(b); err != nil {
		return nil, err
	}
	return tx, nil
}

// decodeBody decodes a payload as type t's and checks its size limits.
func decodeBody(t TxType, p []byte) (any, error) {
	switch t {
	case TxTransfer:
		return decodeAs[Transfer](p, nil)
	case TxStake:
		return decodeAs[Stake](p, nil)
	case TxUnstake:
		return decodeAs[Unstake](p, nil)
	case TxJobPost:
		return decodeAs(p, func(b JobPost) error { return limit("spec", len(b.Spec), MaxSpecBytes) })
	case TxResult:
		return decodeAs[ResultCommit](p, nil)
	case TxReward:
		return decodeAs[Reward](p, nil)
	case TxSlash:
		return decodeAs(p, func(b Slash) error { return limit("evidence", len(b.Evidence), MaxEvidenceBytes) })
	case TxProposal:
		return decodeAs(p, func(b Proposal) error { return limit("proposal", len(b.Body), MaxProposalBytes) })
	case TxVote:
		return decodeAs[Vote](p, nil)
	case TxSettle:
		return decodeAs(p, func(b Settle) error {
			n := len(b.Jobs)
			for _, r := range b.Jobs {
				n += len(r.Pay)
			}
			return limit("settle releases and credits", n, MaxCredits)
		})
	case TxPayout:
		return decodeAs(p, func(b Payout) error { return limit("payout credits", len(b.Pay), MaxCredits) })
	case TxVersion:
		return decodeAs[VersionCommit](p, nil)
	case TxUse:
		return decodeAs[Use](p, nil)
	case TxResultRoot:
		return decodeAs[ResultRoot](p, nil)
	}
	return nil, fmt.Errorf("%w %d", ErrUnknownKind, t)
}

// decodeAs decodes p canonically as a T and applies check, if any.
func decodeAs[T any](p []byte, check func(T) error) (any, error) {
	var v T
	if err := unmarshalCanonical(p, &v); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func limit(what string, n, max int) error {
	if n > max {
		return fmt.Errorf("%w: %s of %d bytes > %d", ErrMalformed, what, n, max)
	}
	return nil
}
