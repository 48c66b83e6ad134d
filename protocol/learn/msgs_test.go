package learn

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol/wire"
)

// The version is the SHA-256 of the domain, the parent and the
// parameters exactly as a Model carries them on the wire.
func TestVersionOfHashesTheWireEncoding(t *testing.T) {
	params := []float64{0.5, -1, math.Copysign(0, -1), 3e-300}
	parent := Hash{7, 31: 9}
	m := &Model{Round: 1, Parent: parent, Params: params}
	body := m.AppendBody(nil)
	// Body: round (1 byte), version (33), parent (33), then the vector.
	vector := body[1+2*hashSize:]
	want := sha256.Sum256(append(append([]byte(versionDomain), parent[:]...), vector...))
	if got := VersionOf(parent, params); got != Hash(want) {
		t.Fatalf("VersionOf = %x, want %x", got, want)
	}
	// Long vectors cross VersionOf's buffer boundary.
	long := make([]float64, 4810)
	for i := range long {
		long[i] = float64(i) / 7
	}
	lb := (&Model{Params: long}).AppendBody(nil)[1+2*hashSize:]
	want = sha256.Sum256(append(append([]byte(versionDomain), make([]byte, 32)...), lb...))
	if got := VersionOf(Hash{}, long); got != Hash(want) {
		t.Fatalf("VersionOf(4810 params) = %x, want %x", got, want)
	}
	// Negative zero is another model: versions name bits, not values.
	if VersionOf(parent, []float64{0}) == VersionOf(parent, []float64{math.Copysign(0, -1)}) {
		t.Error("0 and -0 hash alike")
	}
	if VersionOf(parent, params) == VersionOf(Hash{}, params) {
		t.Error("the parent does not change the version")
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	frame := func(k wire.Kind, body ...byte) []byte {
		return append(binary.AppendUvarint([]byte{wire.Version}, uint64(k)), body...)
	}
	h := make([]byte, 33)
	h[0] = 32
	short := []byte{31}
	short = append(short, make([]byte, 31)...)
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"hash of 31 bytes", frame(wire.KindModel, append(append([]byte{1}, short...), h...)...), ErrMalformed},
		{"vector of 7 bytes", frame(wire.KindUpdate, append(append([]byte{1}, h...), 0, 7, 1, 2, 3, 4, 5, 6, 7)...), ErrMalformed},
		{"vector longer than the frame", frame(wire.KindUpdate, append(append([]byte{1}, h...), 0, 16, 1)...), wire.ErrShort},
		{"scores without learners", frame(wire.KindScores, append(append([]byte{1}, h...), 0, 8, 0, 0, 0, 0, 0, 0, 0, 0)...), ErrMalformed},
		{"too many learners", frame(wire.KindScoreRequest, append(append([]byte{1}, h...), 0x81, 0x80, 0x80, 0x01)...), wire.ErrTooLarge},
		{"node ID past 32 bits", frame(wire.KindScoreRequest, append(append([]byte{1}, h...), 1, 0x80, 0x80, 0x80, 0x80, 0x10)...), wire.ErrTooLarge},
		{"trailing byte", append(wire.Encode(&ScoreRequest{Round: 1}), 0), wire.ErrTrailing},
	} {
		if _, err := wire.Decode(tc.frame); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A round's messages are as large as the parameters they carry: the
// optdigits MLP's 4,810 values are 38,480 bytes, plus a few for framing.
func TestWireSizeIsTheParameters(t *testing.T) {
	u := &LocalUpdate{Round: 5, Samples: 191, Delta: make([]float64, 4810)}
	if n := u.WireSize(); n < 38480 || n > 38480+50 {
		t.Errorf("update of 4,810 parameters is %d bytes", n)
	}
	if n := len(wire.Encode(u)); n != u.WireSize() {
		t.Errorf("encoded %d bytes, WireSize %d", n, u.WireSize())
	}
}
