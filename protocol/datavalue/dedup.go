package datavalue

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrParams reports parameters a function here cannot use.
var ErrParams = errors.New("datavalue: bad parameters")

// DedupParams tune near-duplicate detection. A row is the set of its
// non-zero features, each quantized to Levels steps: token (feature i,
// level q). Two rows are near-duplicates when the Jaccard similarity of
// their token sets is at least Threshold. On optdigits (features are
// pixel counts / 16, Levels 16), the most similar pair of distinct rows
// among 1,500 has Jaccard 0.42 and a copy with 5% of its pixels moved by
// one count has at least 0.74, so 0.6 separates them.
//
// MinHash (Broder 1997) gives each row a signature of Hashes minima;
// locality-sensitive hashing cuts it into Bands bands of Hashes/Bands
// minima, and rows that agree on a whole band become candidates, which
// are then checked exactly. A pair of similarity s is a candidate with
// probability 1 − (1 − s^r)^b: with 128 hashes in 32 bands of 4, 0.9998
// at s = 0.7 and 0.56 at s = 0.4, so the exact check sees every copy and
// about half of the near misses, never the bulk of the rows.
type DedupParams struct {
	Hashes, Bands int
	Levels        int
	Threshold     float64
	// Seed draws the hash functions.
	Seed uint64
}

// DefaultDedup is 128 hashes in 32 bands, 16 levels, threshold 0.6.
func DefaultDedup(seed uint64) DedupParams {
	return DedupParams{Hashes: 128, Bands: 32, Levels: 16, Threshold: 0.6, Seed: seed}
}

// Validate reports the first parameter out of range.
func (p DedupParams) Validate() error {
	switch {
	case p.Hashes < 1 || p.Bands < 1 || p.Hashes%p.Bands != 0:
		return fmt.Errorf("%w: %d hashes in %d bands, want bands dividing hashes", ErrParams, p.Hashes, p.Bands)
	case p.Levels < 1 || p.Levels > 1<<16:
		return fmt.Errorf("%w: %d levels", ErrParams, p.Levels)
	case !(p.Threshold > 0 && p.Threshold <= 1):
		return fmt.Errorf("%w: threshold %v, want (0, 1]", ErrParams, p.Threshold)
	}
	return nil
}

// Index holds the rows registered so far and finds near-duplicates of new
// ones. Rows are numbered in registration order from 0. An Index is used
// from one goroutine; its maps are only looked up, never ranged over, so
// what it reports depends on the rows and the seed alone.
type Index struct {
	p      DedupParams
	seeds  []uint64
	tokens [][]uint64 // per indexed row, ascending; nil for a duplicate (not indexed)
	bucket []map[uint64][]int32
	n      int
	// Candidates counts the exact checks made (pairs LSH proposed).
	Candidates int
}

// NewIndex returns an empty index.
func NewIndex(p DedupParams) (*Index, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	ix := &Index{p: p, seeds: make([]uint64, p.Hashes), bucket: make([]map[uint64][]int32, p.Bands)}
	s := p.Seed
	for i := range ix.seeds {
		s = mix64(s + 0x9e3779b97f4a7c15)
		ix.seeds[i] = s
	}
	for b := range ix.bucket {
		ix.bucket[b] = map[uint64][]int32{}
	}
	return ix, nil
}

// Match says whether a row added to the index duplicates an earlier one.
type Match struct {
	// Row is the new row's number.
	Row int
	// Of is the earliest registered row it near-duplicates, or −1.
	Of int
	// Similarity is the Jaccard similarity to Of (0 when Of is −1).
	Similarity float64
}

// Add registers rows, in order, and reports each: a row that
// near-duplicates a row registered before it (by anyone, including an
// earlier row of the same call) is a duplicate and is not itself indexed,
// so copies of copies resolve to the original.
func (ix *Index) Add(rows [][]float64) []Match {
	out := make([]Match, len(rows))
	sig := make([]uint64, ix.p.Hashes)
	r := ix.p.Hashes / ix.p.Bands
	keys := make([]uint64, ix.p.Bands)
	for k, row := range rows {
		toks := ix.tokenize(row)
		ix.signature(toks, sig)
		var cands []int32
		for b := range keys {
			keys[b] = bandKey(b, sig[b*r:(b+1)*r])
			cands = append(cands, ix.bucket[b][keys[b]]...)
		}
		slices.Sort(cands)
		cands = slices.Compact(cands)
		m := Match{Row: ix.n, Of: -1}
		for _, c := range cands {
			ix.Candidates++
			if j := jaccard(toks, ix.tokens[c]); j >= ix.p.Threshold {
				m.Of, m.Similarity = int(c), j
				break // the earliest: candidates are ascending
			}
		}
		out[k] = m
		if m.Of < 0 {
			for b, key := range keys {
				ix.bucket[b][key] = append(ix.bucket[b][key], int32(ix.n))
			}
			ix.tokens = append(ix.tokens, toks)
		} else {
			ix.tokens = append(ix.tokens, nil)
		}
		ix.n++
	}
	return out
}

// Len is the number of rows registered.
func (ix *Index) Len() int { return ix.n }

// tokenize is the row's token set, ascending: (feature, level) for every
// feature whose level is above 0.
func (ix *Index) tokenize(row []float64) []uint64 {
	L := float64(ix.p.Levels)
	toks := make([]uint64, 0, len(row))
	for i, x := range row {
		q := math.Round(x * L)
		if q <= 0 || math.IsNaN(q) {
			continue
		}
		toks = append(toks, uint64(i)<<20|uint64(min(q, L)))
	}
	return toks // ascending: features in order, one token each
}

// signature is the MinHash signature of toks; an empty set gets the
// all-ones signature, so empty rows duplicate one another.
func (ix *Index) signature(toks []uint64, sig []uint64) {
	for h, s := range ix.seeds {
		m := uint64(math.MaxUint64)
		for _, t := range toks {
			if v := mix64(t ^ s); v < m {
				m = v
			}
		}
		sig[h] = m
	}
}

func bandKey(band int, mins []uint64) uint64 {
	k := mix64(uint64(band) + 1)
	for _, m := range mins {
		k = mix64(k ^ m)
	}
	return k
}

// jaccard is |a ∩ b| / |a ∪ b| of two ascending token sets (1 for two
// empty sets).
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	var i, j, in int
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			in++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(in) / float64(len(a)+len(b)-in)
}

// mix64 is SplitMix64's finalizer: a bijection on 64 bits whose output
// bits each depend on every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
