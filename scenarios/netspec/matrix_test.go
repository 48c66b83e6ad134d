package netspec_test

import (
	"strings"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios/netspec"
)

const ms = protocol.Millisecond

func TestDefaultMatrix(t *testing.T) {
	m := netspec.DefaultMatrix()
	if len(m.Regions) != 10 {
		t.Fatalf("%d regions, want 10", len(m.Regions))
	}
	d, tk := m.Index("dallas"), m.Index("tokyo")
	if m.RTT[d][tk] != 143*ms || m.OneWay(d, tk) != 71500*protocol.Microsecond {
		t.Fatalf("dallas→tokyo RTT %v one-way %v; want 143ms, 71.5ms", m.RTT[d][tk], m.OneWay(d, tk))
	}
	if m.RTT[d][d] != netspec.DefaultIntraRegionRTT {
		t.Fatalf("diagonal %v, want %v", m.RTT[d][d], netspec.DefaultIntraRegionRTT)
	}
}

func TestParseMatrixErrors(t *testing.T) {
	for _, tc := range []struct{ csv, want string }{
		{"from\\to,a,b\na,0,1\n", "netspec: m.csv: matrix has 1 rows for 2 regions"},
		{"from\\to,a,b\na,0,x\nb,1,0\n", `netspec: m.csv:2: column "b": "x" is not a latency in ms`},
		{"from\\to,a,b\na,0,1\nc,1,0\n", `netspec: m.csv:3: row "c", want rows in header order`},
		{"from\\to,a,b\na,0,-1\nb,1,0\n", `netspec: m.csv:2: column "b": "-1" is not a latency in ms`},
		{"from\\to,a\n", "netspec: m.csv: want a header and at least one row"},
		{"from\\to,a,b\na,0,1,2\nb,1,0\n", "netspec: m.csv:2: 4 fields, want 3"},
	} {
		_, err := netspec.ParseMatrixCSV(strings.NewReader(tc.csv), "m.csv")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.csv, err, tc.want)
		}
	}
}
