package govern

import "errors"

// Errors callers may handle; each is wrapped with the detail.
var (
	ErrUnknownParam = errors.New("govern: unknown parameter")
	ErrOutOfBounds  = errors.New("govern: value out of bounds")
	ErrBadValue     = errors.New("govern: not a value")
	ErrConstraint   = errors.New("govern: parameters break a rule")
	ErrNoChanges    = errors.New("govern: proposal changes nothing")
	ErrDuplicateKey = errors.New("govern: parameter changed twice")
	ErrActivation   = errors.New("govern: activation too early")
	ErrDeposit      = errors.New("govern: deposit below minimum")
	ErrNoProposal   = errors.New("govern: no such proposal")
	ErrVotingClosed = errors.New("govern: voting closed")
	ErrBadOption    = errors.New("govern: unknown vote option")
	ErrElectorate   = errors.New("govern: bad electorate")
	ErrConfig       = errors.New("govern: bad config")
	ErrBody         = errors.New("govern: bad proposal body")
)
