package govern

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ParseValue reads a decimal text ("1.5", "-3", "1_000", "0.05") as an
// integer count of 10^-decimals: ParseValue("1.5", 9) is 1,500,000,000. It
// never goes through a float, and rejects more decimal places than the
// parameter has rather than round.
func ParseValue(text string, decimals uint8) (int64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(text), "_", "")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q is not a decimal number", ErrBadValue, text)
	}
	if len(frac) > int(decimals) {
		return 0, fmt.Errorf("%w: %q has %d decimal places, the parameter has %d", ErrBadValue, text, len(frac), decimals)
	}
	n, _ := new(big.Int).SetString(whole+frac+strings.Repeat("0", int(decimals)-len(frac)), 10)
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w: %q does not fit in 64 bits at %d decimal places", ErrBadValue, text, decimals)
	}
	return n.Int64(), nil
}

// FormatValue prints v as a decimal with the given places, without
// trailing zeros: FormatValue(1_500_000_000, 9) is "1.5". ParseValue reads
// it back.
func FormatValue(v int64, decimals uint8) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if decimals > 0 {
		for len(s) <= int(decimals) {
			s = "0" + s
		}
		whole, frac := s[:len(s)-int(decimals)], strings.TrimRight(s[len(s)-int(decimals):], "0")
		s = whole
		if frac != "" {
			s += "." + frac
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}
