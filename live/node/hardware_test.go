package node_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// A network's market may declare a measured class from its hardware
// profiles; without the profile, or with a relative path, it may not.
func TestMarketClassFromHardwareProfile(t *testing.T) {
	prof, err := filepath.Abs("../../scenarios/testdata/profiles/test_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	netw := &node.Network{Name: "t", Seed: 1, Epoch: time.Now()}
	for i := range 3 {
		netw.Nodes = append(netw.Nodes, node.Member{ID: protocol.NodeID(i), Role: node.RoleValidator, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}})
	}
	spec := node.DefaultMarket(3)
	spec.Class = "test_box"
	if err := spec.Validate(netw); err == nil || !strings.Contains(err.Error(), `"test_box" is not in the gpu catalog`) {
		t.Errorf("without the profile: err = %v", err)
	}
	netw.HardwareProfiles = []string{prof}
	if err := spec.Validate(netw); err != nil {
		t.Errorf("with the profile: %v", err)
	}
	cat, err := netw.GPUCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := cat.Lookup("test_box"); !ok || c.FP32TFLOPS != 0.006666 {
		t.Errorf("Lookup(test_box) = %+v, %v", c, ok)
	}
	netw.HardwareProfiles = []string{"profiles/test_box.yaml"}
	if _, err := netw.GPUCatalog(); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("a relative path: err = %v", err)
	}
	netw.HardwareProfiles = []string{filepath.Join(t.TempDir(), "missing.yaml")}
	if err := spec.Validate(netw); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing profile: err = %v", err)
	}
}
