// Package kernel holds the real computation a live marketplace unit runs
// (live/node), so that the benchmark that fits a hardware profile to it
// (gpu/bench, dais gpu bench --fit matmul) times exactly the same code.
//
//	w := kernel.ForFLOPs(seed, 2e7) // a 215×215 float32 product, 1.99e7 FLOPs
//	out := w.Sum()                  // SHA-256 of the product's bits
//
// Run is pure Go on the calling goroutine: one CPU thread. The package
// imports nothing of protocol: a driver that commits the digest as the
// protocol's hash (live/node.MatMul) converts it.
package kernel

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// MatMul is Rounds chained products of N×N float32 matrices, each round's
// product (scaled by 1/√N) the next round's left factor, every factor
// drawn from Seed. It costs 2·N³·Rounds FLOPs. Run is deterministic on
// every platform: the draws are PCG's, the loops fixed, and every product
// is rounded to float32 before it is added (an explicit conversion, which
// Go does not fuse into an FMA), so replicas on any machine reach the same
// bits.
type MatMul struct {
	Seed   uint64
	N      int
	Rounds int
}

// Matrix orders ForFLOPs picks from.
const (
	MinN = 8
	MaxN = 256
)

// ForFLOPs is the MatMul closest to flops: order round(∛(flops/2)) within
// [MinN, MaxN], and as many rounds as make up flops (at least one).
func ForFLOPs(seed uint64, flops float64) MatMul {
	f := math.Max(flops, 2*MinN*MinN*MinN)
	n := int(math.Min(math.Round(math.Cbrt(f/2)), MaxN))
	rounds := max(int(math.Round(f/(2*float64(n)*float64(n)*float64(n)))), 1)
	return MatMul{Seed: seed, N: n, Rounds: rounds}
}

// FLOPs is the arithmetic Run performs.
func (w MatMul) FLOPs() float64 {
	return 2 * float64(w.N) * float64(w.N) * float64(w.N) * float64(w.Rounds)
}

// Run implements gpu.Work: its output is Sum's digest.
func (w MatMul) Run() (any, error) { return w.Sum(), nil }

// Sum computes the product and returns the SHA-256 of the last product's
// float32 bits, little-endian.
func (w MatMul) Sum() [sha256.Size]byte {
	n := w.N
	fill := func(m []float32, stream uint64) {
		r := rand.New(rand.NewPCG(w.Seed, stream))
		for i := range m {
			m[i] = float32(r.Float64()*2 - 1)
		}
	}
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	fill(a, 0)
	scale := float32(1 / math.Sqrt(float64(n)))
	for round := range w.Rounds {
		fill(b, uint64(round)+1)
		clear(c)
		for i := range n {
			ci := c[i*n : (i+1)*n]
			for k := range n {
				aik := a[i*n+k]
				bk := b[k*n : (k+1)*n]
				for j := range ci {
					ci[j] += float32(aik * bk[j])
				}
			}
		}
		for i, v := range c {
			a[i] = float32(v * scale)
		}
	}
	h := sha256.New()
	buf := make([]byte, 4*n)
	for i := range n {
		for j, v := range c[i*n : (i+1)*n] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		h.Write(buf)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
