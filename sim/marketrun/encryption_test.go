package marketrun

import (
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/protocol/seal"
)

// TestEncryptionCost: sealing every unit's 4 MiB input and 1 MiB result
// charges each provider the measured open-and-seal time per unit, so
// units complete later than in clear by about that much (the scheduler
// and network being the same seed's), and the bytes sealing adds are
// what envelopes add: a tag and one wrap per seal, one more wrap per
// re-execution.
func TestEncryptionCost(t *testing.T) {
	if raceEnabled {
		t.Skip("two marketplace runs; single-threaded")
	}
	clear := small(3)
	clear.Adversaries = nil
	enc := small(3)
	enc.Adversaries = nil
	cost := seal.Cost{NsPerByte: 50, NsPerWrap: 1e5, NsPerUnwrap: 1e5} // 50 ns/byte: a slow core, to stand out of the noise
	enc.Encryption = &marketplace.Encryption{InputBytes: 4 << 20, OutputBytes: 1 << 20, Cost: cost}
	a, b := mustRun(t, clear), mustRun(t, enc)
	figs := map[string]float64{}
	for _, f := range marketplace.Summary(b).Figures {
		figs[f.Key] = f.Value
	}
	perUnit := cost.Open(4<<20) + cost.Seal(1<<20, 1)
	if got, want := figs["encryption_provider_cpu_ms_per_unit"], perUnit.Milliseconds(); got != want {
		t.Errorf("provider CPU per unit %v ms, want %v", got, want)
	}
	if b.Verified == 0 {
		t.Fatal("no unit was verified")
	}
	if share := figs["encryption_overhead_share"]; !(share > 0 && share < 1e-3) {
		t.Errorf("overhead share %v, want a few wraps and tags per MiB", share)
	}
	if _, ok := figs["encryption_overhead_bytes"]; !ok {
		t.Error("no overhead bytes figure")
	}
	t.Logf("median unit completion %.1f ms clear, %.1f ms encrypted; crypto %.1f ms per unit", a.Completion.P50, b.Completion.P50, perUnit.Milliseconds())
	// Units complete later by the crypto on their path: at least the
	// provider's part at the median, not wildly more.
	d := b.Completion.P50 - a.Completion.P50
	if d < 0.5*perUnit.Milliseconds() || d > 20*perUnit.Milliseconds() {
		t.Errorf("median unit completion %v ms encrypted, %v ms clear: +%v ms for %v ms of crypto per unit",
			b.Completion.P50, a.Completion.P50, d, perUnit.Milliseconds())
	}
}
