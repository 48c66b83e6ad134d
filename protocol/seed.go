package protocol

import (
	"hash/fnv"
	"math/rand/v2"
)

// DeriveSeed returns the seed of one stream: a pure function of the root seed,
// a domain ("node", "net", "churn", …) and an index within it. Adding a node
// or a domain never changes another stream, so a run stays comparable when a
// scenario grows.
func DeriveSeed(root uint64, domain string, index uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(domain))
	return splitmix(splitmix(root^h.Sum64()) ^ splitmix(index+0x9e3779b97f4a7c15))
}

// Stream returns a PCG generator seeded by DeriveSeed.
func Stream(root uint64, domain string, index uint64) *rand.Rand {
	s := DeriveSeed(root, domain, index)
	return rand.New(rand.NewPCG(s, splitmix(s)))
}

// StreamPCG is the generator Stream wraps, as a value, for drivers that
// keep one stream per node in a flat array: a copy is an independent
// generator that draws what Stream's would.
func StreamPCG(root uint64, domain string, index uint64) rand.PCG {
	s := DeriveSeed(root, domain, index)
	return *rand.NewPCG(s, splitmix(s))
}

// splitmix is SplitMix64's finalizer: a bijection that spreads every input
// bit over the output.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
