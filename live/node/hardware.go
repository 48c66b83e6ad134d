package node

import (
	"fmt"
	"path/filepath"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/profile"
)

// GPUCatalog is the GPU classes the network's specs may name: the
// built-in catalog and the measured classes of its HardwareProfiles, the
// resolver the simulator's runners use too (scenarios.Scenario.GPUCatalog).
func (n *Network) GPUCatalog() (*gpu.Catalog, error) {
	var added []gpu.Class
	for i, path := range n.HardwareProfiles {
		if !filepath.IsAbs(path) {
			return nil, fmt.Errorf("%w: hardware_profiles[%d]: %q: give an absolute path", ErrConfig, i, path)
		}
		p, err := profile.Load(path)
		if err != nil {
			return nil, fmt.Errorf("%w: hardware_profiles[%d]: %w", ErrConfig, i, err)
		}
		added = append(added, p.GPUClass())
	}
	cat, err := gpu.NewCatalog(added...)
	if err != nil {
		return nil, fmt.Errorf("%w: hardware_profiles: %w", ErrConfig, err)
	}
	return cat, nil
}
