package consensus_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

func TestValidatorSetTopK(t *testing.T) {
	var cands []consensus.Validator
	for i, s := range []uint64{5, 0, 9, 5, 7, 1} {
		cands = append(cands, consensus.Candidate(1, protocol.NodeID(i), s))
	}
	set, err := consensus.NewValidatorSet(cands, 4)
	if err != nil {
		t.Fatal(err)
	}
	// By stake: 2 (9), 4 (7), then 0 and 3 (5) by address; 5 and 1 left out.
	want := []protocol.NodeID{2, 4, 0, 3}
	if a0, a3 := cands[0].Address(), cands[3].Address(); bytes.Compare(a3[:], a0[:]) < 0 {
		want[2], want[3] = 3, 0
	}
	for i, id := range want {
		if set.At(i).ID != id {
			t.Fatalf("position %d holds node %d, want %d", i, set.At(i).ID, id)
		}
		if j, ok := set.Index(id); !ok || j != i {
			t.Errorf("Index(%d) = %d, %v", id, j, ok)
		}
	}
	if _, ok := set.Index(5); ok || set.Len() != 4 || set.Total() != 26 {
		t.Errorf("len %d total %d; node 5 in the set: %v", set.Len(), set.Total(), ok)
	}
	// 2/3 of 26 is 17.33: 18 is a quorum, 17 is not; 1/3 is 8.67.
	if !set.Quorum(18) || set.Quorum(17) || !set.OneThird(9) || set.OneThird(8) {
		t.Error("quorum thresholds are off")
	}
	if ids := set.IDs(); len(ids) != 4 || ids[0] != 0 || ids[3] != 4 {
		t.Errorf("IDs %v, want ascending [0 2 3 4]", ids)
	}
}

// TestTiesWithoutKeys: without public keys, equal stakes go by node ID.
func TestTiesWithoutKeys(t *testing.T) {
	set, err := consensus.NewValidatorSet([]consensus.Validator{{ID: 7, Stake: 1}, {ID: 3, Stake: 1}, {ID: 5, Stake: 2}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if set.At(0).ID != 5 || set.At(1).ID != 3 || set.At(2).ID != 7 {
		t.Errorf("order %d %d %d, want 5 3 7", set.At(0).ID, set.At(1).ID, set.At(2).ID)
	}
}

func TestValidatorSetErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cands []consensus.Validator
		want  error
	}{
		"none":      {nil, consensus.ErrNoValidators},
		"no stake":  {[]consensus.Validator{{ID: 1}}, consensus.ErrNoValidators},
		"twice":     {[]consensus.Validator{{ID: 1, Stake: 1}, {ID: 1, Stake: 2}}, consensus.ErrDuplicateID},
		"too large": {[]consensus.Validator{{ID: 1, Stake: consensus.MaxTotalStake}, {ID: 2, Stake: 1}}, consensus.ErrStakeTooLarge},
		"bad key":   {[]consensus.Validator{{ID: 1, Stake: 1, PubKey: []byte{1, 2}}}, consensus.ErrBadKey},
	} {
		if _, err := consensus.NewValidatorSet(tc.cands, 0); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
	}
}

func TestKeysAndSigner(t *testing.T) {
	if !bytes.Equal(consensus.DeriveKey(1, 5), consensus.DeriveKey(1, 5)) ||
		bytes.Equal(consensus.DeriveKey(1, 5), consensus.DeriveKey(1, 6)) ||
		bytes.Equal(consensus.DeriveKey(1, 5), consensus.DeriveKey(2, 5)) {
		t.Fatal("keys are not a pure function of (seed, node)")
	}
	real := consensus.Signer{Key: consensus.DeriveKey(1, 5)}
	pub := consensus.Candidate(1, 5, 1).PubKey
	sig := real.Sign([]byte("m"))
	if !real.Verify(pub, []byte("m"), sig) || real.Verify(pub, []byte("n"), sig) || real.Verified != 2 {
		t.Error("real signatures do not verify as they should")
	}
	modeled := consensus.Signer{Mode: consensus.SigModeled}
	msig := modeled.Sign(nil)
	if len(msig) != consensus.SigSize || !modeled.Verify(nil, nil, msig) || modeled.Verify(nil, nil, msig[:5]) ||
		modeled.Skipped != 1 || modeled.Verified != 0 {
		t.Errorf("modeled: %d-byte signature, %d skipped, %d verified", len(msig), modeled.Skipped, modeled.Verified)
	}
}

// TestHashEncoding: the zero Hash is one byte; 32 zero bytes, or any
// other length, are not a hash.
func TestHashEncoding(t *testing.T) {
	if b := consensus.AppendHash(nil, consensus.Hash{}); len(b) != 1 || consensus.HashSize(consensus.Hash{}) != 1 {
		t.Errorf("zero hash encodes to %x", b)
	}
	for name, frame := range map[string][]byte{
		"zero in full": append([]byte{wire.Version, byte(wire.KindBlockReq), 1, 32}, make([]byte, 32)...),
		"short hash":   {wire.Version, byte(wire.KindBlockReq), 1, 3, 1, 2, 3},
	} {
		if _, err := wire.Decode(frame); !errors.Is(err, consensus.ErrBadHash) {
			t.Errorf("%s: error %v, want ErrBadHash", name, err)
		}
	}
}
