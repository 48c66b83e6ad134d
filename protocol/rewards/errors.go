package rewards

import "errors"

// Errors callers may handle; each is wrapped with the detail.
var (
	// ErrSchedule reports emission schedule parameters out of range.
	ErrSchedule = errors.New("rewards: bad emission schedule")
	// ErrPolicy reports a Policy field out of range.
	ErrPolicy = errors.New("rewards: bad policy")
	// ErrInput reports a contribution out of range (a score above 1, an
	// amount that overflows).
	ErrInput = errors.New("rewards: bad input")
	// ErrUnknownParam reports a governable parameter key rewards does not
	// know.
	ErrUnknownParam = errors.New("rewards: unknown parameter")
)
