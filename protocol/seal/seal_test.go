package seal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// stream is a seeded entropy source, as a simulated node passes.
type stream struct{ r *rand.ChaCha8 }

func (s stream) Read(p []byte) (int, error) { return s.r.Read(p) }

func newStream(seed byte) stream { return stream{rand.NewChaCha8([32]byte{seed})} }

func TestSealOpenGrantCommit(t *testing.T) {
	ent := newStream(1)
	provPriv, provPub, _ := GenerateKey(ent)
	reqPriv, reqPub, _ := GenerateKey(ent)
	valPriv, valPub, _ := GenerateKey(ent)
	relayPriv, _, _ := GenerateKey(ent)
	input := bytes.Repeat([]byte("unit input "), 1000)
	ad := []byte("job 7 unit 3")

	env, dk, err := Seal(ent, input, ad, provPub, reqPub)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := env.Size(), len(input)+Overhead(2); got != want {
		t.Fatalf("envelope of %d bytes, want payload + Overhead(2) = %d", got, want)
	}
	if bytes.Contains(env.Ciphertext, []byte("unit input")) {
		t.Fatal("the ciphertext holds the plaintext")
	}
	for _, k := range []Key{provPriv, reqPriv} {
		got, gdk, err := Open(k, env, ad)
		if err != nil || !bytes.Equal(got, input) || gdk != dk {
			t.Fatalf("recipient could not open: %v", err)
		}
	}
	// A relay or a validator that was not granted the key cannot open it.
	for _, k := range []Key{relayPriv, valPriv} {
		if _, _, err := Open(k, env, ad); !errors.Is(err, ErrNotRecipient) {
			t.Fatalf("a non-recipient opened the envelope: %v", err)
		}
	}
	// The provider grants the data key to a spot checker drawn later.
	w, err := Grant(ent, dk, valPub)
	if err != nil {
		t.Fatal(err)
	}
	env.Wraps = append(env.Wraps, w)
	got, vdk, err := Open(valPriv, env, ad)
	if err != nil || !bytes.Equal(got, input) {
		t.Fatalf("the granted validator could not open: %v", err)
	}
	// Tampering is caught: the payload, the associated data, a wrap.
	for name, mutate := range map[string]func(e *Envelope) []byte{
		"payload": func(e *Envelope) []byte { e.Ciphertext[5] ^= 1; return ad },
		"ad":      func(e *Envelope) []byte { return []byte("job 7 unit 4") },
		"wrap":    func(e *Envelope) []byte { e.Wraps[0].Sealed[0] ^= 1; return ad },
	} {
		e := &Envelope{Wraps: append([]Wrap(nil), env.Wraps...), Ciphertext: bytes.Clone(env.Ciphertext)}
		if _, _, err := Open(provPriv, e, mutate(e)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("tampered %s: %v, want ErrCorrupt", name, err)
		}
	}
	// Replicas commit alike exactly when outputs agree; the commitment
	// depends on the key, so a comparer cannot test guesses.
	out := []byte("result 42")
	c := Commit(dk, 3, out)
	if Commit(vdk, 3, out) != c {
		t.Fatal("the re-executor's commitment to the same output differs")
	}
	if Commit(vdk, 3, []byte("result 43")) == c || Commit(dk, 4, out) == c {
		t.Fatal("a different output or unit commits the same")
	}
	var other DataKey
	other[0] = 1
	if Commit(other, 3, out) == c {
		t.Fatal("the commitment does not depend on the data key")
	}
}

func TestSealIsDeterministicFromEntropy(t *testing.T) {
	_, pub, _ := GenerateKey(newStream(2))
	a, _, _ := Seal(newStream(3), []byte("x"), nil, pub)
	b, _, _ := Seal(newStream(3), []byte("x"), nil, pub)
	if !bytes.Equal(a.Ciphertext, b.Ciphertext) || a.Wraps[0] != b.Wraps[0] {
		t.Fatal("the same entropy sealed differently: a simulated run would not replay")
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{64 << 10, 1 << 20} {
		b.Run(fmt.Sprint(n>>10, "KiB"), func(b *testing.B) {
			ent := newStream(4)
			_, pub, _ := GenerateKey(ent)
			payload := make([]byte, n)
			env, dk, _ := Seal(ent, payload, nil, pub)
			b.SetBytes(int64(n))
			t0 := cpuTime()
			for b.Loop() {
				if _, err := OpenWith(dk, env, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N*n), "cpu-ns/byte")
		})
	}
}

func BenchmarkWrap(b *testing.B) {
	ent := newStream(5)
	_, pub, _ := GenerateKey(ent)
	t0 := cpuTime()
	for b.Loop() {
		if _, err := Grant(ent, DataKey{}, pub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N), "cpu-ns/wrap")
}

func BenchmarkUnwrap(b *testing.B) {
	ent := newStream(6)
	priv, pub, _ := GenerateKey(ent)
	env, _, _ := Seal(ent, nil, nil, pub)
	t0 := cpuTime()
	for b.Loop() {
		if _, err := Unwrap(priv, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N), "cpu-ns/unwrap")
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine other processes stretch the wall clock, not this.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
