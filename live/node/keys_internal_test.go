package node

import "testing"

// withKeys makes keys for every member of netw, lists their public halves
// in it and returns them by NodeID.
func withKeys(t testing.TB, netw *Network) []*Keys {
	t.Helper()
	var keys []*Keys
	for i := range netw.Nodes {
		k, err := GenerateKeys()
		if err != nil {
			t.Fatal(err)
		}
		p, err := k.Public()
		if err != nil {
			t.Fatal(err)
		}
		netw.Nodes[i].SetKeys(p)
		keys = append(keys, k)
	}
	return keys
}
