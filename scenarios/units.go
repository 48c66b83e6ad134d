package scenarios

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/dais-sim/dais/protocol"
)

// scalar is a value written as one YAML scalar with a unit. parse reads the
// text; base returns the value in base units (ns, bytes, bit/s, …) for range
// checks; unit names the written form for errors, the schema and the docs.
type scalar interface {
	parse(s string) error
	base() float64
	unit() string
	example() string
	pattern() string // a JSON Schema pattern for the written form
}

// Duration is a span of simulated time, written "90s", "2h", "1m30s", "250ms", "3d".
type Duration protocol.Duration

func (d *Duration) parse(s string) error {
	s = strings.TrimSpace(s)
	if s == "0" {
		*d = 0
		return nil
	}
	if strings.HasSuffix(s, "d") && !strings.HasSuffix(s, "nd") {
		days, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || days < 0 {
			return fmt.Errorf("%q is not a duration: want a number and a unit, such as 90s, 2h or 3d", s)
		}
		*d = Duration(days * 24 * float64(time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: write a duration such as %ss or %sms", s, s, s)
		}
		return fmt.Errorf("%q is not a duration: want a number and a unit, such as 90s, 2h or 250ms", s)
	}
	*d = Duration(v)
	return nil
}
func (d Duration) base() float64 { return float64(d) }
func (Duration) unit() string    { return "duration" }
func (Duration) example() string { return "90s" }
func (Duration) pattern() string {
	return `^(0|-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+|[0-9]+(\.[0-9]*)?d)$`
}
func (d Duration) String() string               { return time.Duration(d).String() }
func (d Duration) D() protocol.Duration         { return protocol.Duration(d) }
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a number of bytes, written "1MB" (10⁶), "1MiB" (2²⁰), "512KiB" or "1500".
type Size int64

func (z *Size) parse(s string) error {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%q is negative: a size is at least 0", s)
	}
	v, err := humanize.ParseBytes(s)
	if err != nil || v > math.MaxInt64 {
		return fmt.Errorf("%q is not a size: want bytes with a unit, such as 1MB, 512KiB or 1500", s)
	}
	*z = Size(v)
	return nil
}
func (z Size) base() float64                { return float64(z) }
func (Size) unit() string                   { return "size" }
func (Size) example() string                { return "1MiB" }
func (Size) pattern() string                { return `^[0-9]+(\.[0-9]+)? ?([kKMGTPE]i?[bB]?|[bB])?$` }
func (z Size) String() string               { return humanize.IBytes(uint64(z)) }
func (z Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(z), 10)), nil }

// Bandwidth is a link rate in bits per second, written "1Gbps", "100Mbit/s", "20 Mbps".
type Bandwidth float64

var bandwidthUnits = []struct {
	suffix string
	mult   float64
}{
	{"tbit/s", 1e12}, {"gbit/s", 1e9}, {"mbit/s", 1e6}, {"kbit/s", 1e3}, {"bit/s", 1},
	{"tbps", 1e12}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1},
}

func (b *Bandwidth) parse(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, u := range bandwidthUnits {
		if strings.HasSuffix(t, u.suffix) {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				break
			}
			*b = Bandwidth(v * u.mult)
			return nil
		}
	}
	return fmt.Errorf("%q is not a bandwidth: want a rate with a unit, such as 1Gbps, 100Mbit/s or 20Mbps", s)
}
func (b Bandwidth) base() float64          { return float64(b) }
func (Bandwidth) unit() string             { return "bandwidth" }
func (Bandwidth) example() string          { return "100Mbps" }
func (Bandwidth) pattern() string          { return `^[0-9]+(\.[0-9]+)? ?([kKmMgGtT]?(bps|bit/s))$` }
func (b Bandwidth) String() string         { return humanize.SIWithDigits(float64(b), 3, "bit/s") }
func (b Bandwidth) BitsPerSecond() float64 { return float64(b) }

// Rate is events per second, written "100/s", "5/min", "2/h".
type Rate float64

func (r *Rate) parse(s string) error {
	t := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	num, per, ok := strings.Cut(t, "/")
	mult := map[string]float64{"s": 1, "sec": 1, "min": 1.0 / 60, "m": 1.0 / 60, "h": 1.0 / 3600, "d": 1.0 / 86400}[per]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || mult == 0 || err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("%q is not a rate: want a count per unit of time, such as 100/s, 5/min or 2/h", s)
	}
	*r = Rate(v * mult)
	return nil
}
func (r Rate) base() float64      { return float64(r) }
func (Rate) unit() string         { return "rate" }
func (Rate) example() string      { return "10/s" }
func (Rate) pattern() string      { return `^[0-9]+(\.[0-9]+)? ?/ ?(s|sec|min|m|h|d)$` }
func (r Rate) PerSecond() float64 { return float64(r) }

// TokenDecimals is how many decimal places one token has: amounts are
// integers of 10⁻⁹ tokens.
const TokenDecimals = 9

// Tokens is an amount in base units (10⁻⁹ token), written as a decimal
// string "1000", "0.25", "1_000_000"; never parsed through a float.
type Tokens int64

func (t *Tokens) parse(s string) error {
	txt := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	whole, frac, _ := strings.Cut(txt, ".")
	bad := func() error {
		return fmt.Errorf("%q is not a token amount: want a decimal such as 1000 or 0.25", s)
	}
	if whole == "" || strings.ContainsAny(whole+frac, "+-eE ") {
		if strings.HasPrefix(txt, "-") {
			return fmt.Errorf("%q is negative: a token amount is at least 0", s)
		}
		return bad()
	}
	if len(frac) > TokenDecimals {
		return fmt.Errorf("%q has %d decimal places; a token has at most %d", s, len(frac), TokenDecimals)
	}
	n, ok := new(big.Int).SetString(whole+frac+strings.Repeat("0", TokenDecimals-len(frac)), 10)
	if !ok {
		return bad()
	}
	if !n.IsInt64() {
		return fmt.Errorf("%q is too large: at most %s tokens", s, Tokens(math.MaxInt64))
	}
	*t = Tokens(n.Int64())
	return nil
}
func (t Tokens) base() float64 { return float64(t) }
func (Tokens) unit() string    { return "tokens" }
func (Tokens) example() string { return "1000.5" }
func (Tokens) pattern() string { return `^[0-9][0-9_]*(\.[0-9]{1,9})?$` }

// String prints the amount as a decimal, without trailing zeros.
func (t Tokens) String() string {
	s := strconv.FormatInt(int64(t), 10)
	for len(s) <= TokenDecimals {
		s = "0" + s
	}
	whole, frac := s[:len(s)-TokenDecimals], strings.TrimRight(s[len(s)-TokenDecimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
func (t Tokens) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Share is a fraction in [0, 1], written "30%" or 0.3.
type Share float64

func (f *Share) parse(s string) error {
	t := strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSpace(strings.TrimSuffix(t, "%")), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a share: want a percentage such as 30%% or a fraction such as 0.3", s)
	}
	*f = Share(v / div)
	return nil
}
func (f Share) base() float64 { return float64(f) }
func (Share) unit() string    { return "share" }
func (Share) example() string { return "30%" }
func (Share) pattern() string { return `^[0-9]+(\.[0-9]+)? ?%$` }
func (f Share) String() string {
	// Rounded to 10⁻⁹ %, so 0.6+0.5 prints as 110%, not 110.00000000000001%.
	return strconv.FormatFloat(math.Round(float64(f)*100*1e9)/1e9, 'f', -1, 64) + "%"
}
func (f Share) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
