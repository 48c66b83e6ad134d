package govern

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func TestBodyRoundTrip(t *testing.T) {
	b := Body{Activation: 1 << 40, Changes: []Change{{"z.b", -7}, {"a.b", 1 << 62}}}
	enc := b.Encode()
	got, err := DecodeBody(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := Body{Activation: 1 << 40, Changes: []Change{{"a.b", 1 << 62}, {"z.b", -7}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z]{1,8}\.[a-z_]{1,20}`), 0, MaxChanges, rapid.ID[string]).Draw(t, "keys")
		b := Body{Activation: rapid.Uint64().Draw(t, "at")}
		for _, k := range keys {
			b.Changes = append(b.Changes, Change{k, rapid.Int64().Draw(t, "v")})
		}
		got, err := DecodeBody(b.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), b.Encode()) || len(got.Changes) != len(b.Changes) {
			t.Fatalf("round trip %+v → %+v", b, got)
		}
	})
}

func TestDecodeBodyRejects(t *testing.T) {
	good := Body{Activation: 5, Changes: []Change{{"a.b", 1}, {"c.d", 2}}}.Encode()
	unsorted := []byte{bodyVersion, 5, 2, 3, 'c', '.', 'd', 4, 3, 'a', '.', 'b', 2}
	for name, p := range map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{2}, good[1:]...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(good, 0),
		"unsorted":    unsorted,
		"repeated":    []byte{bodyVersion, 5, 2, 3, 'a', '.', 'b', 4, 3, 'a', '.', 'b', 2},
		"too many":    {bodyVersion, 5, MaxChanges + 1},
		"non-minimal": {bodyVersion, 0x85, 0x00, 0},
	} {
		if _, err := DecodeBody(p); !errors.Is(err, ErrBody) {
			t.Errorf("%s: %v, want ErrBody", name, err)
		}
	}
}

// FuzzDecodeBody: whatever DecodeBody accepts re-encodes to the same bytes.
func FuzzDecodeBody(f *testing.F) {
	f.Add(Body{Activation: 5, Changes: []Change{{"a.b", 1}, {"c.d", -2}}}.Encode())
	f.Add([]byte{bodyVersion, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := DecodeBody(p)
		if err != nil {
			return
		}
		if enc := b.Encode(); !bytes.Equal(enc, p) {
			t.Fatalf("decoded %x as %+v, which encodes as %x", p, b, enc)
		}
	})
}
