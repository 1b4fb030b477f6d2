package train

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// DefaultBatchSize is the recipe's batch of query–document pairs.
const DefaultBatchSize = 64

// The sampler's random streams: PCG(seed, stream) with the stream chosen so that the shuffle
// of an epoch and the positives drawn for it never share a sequence, and changing one does
// not shift the other.
func shuffleStream(epoch int) uint64  { return uint64(epoch) << 1 }
func positiveStream(epoch int) uint64 { return uint64(epoch)<<1 | 1 }

// Batches returns epoch's batches of indices into n training pairs: a permutation of 0..n−1
// drawn from PCG(seed, epoch) and cut into batches of size. The last batch is shorter when
// size does not divide n, or left out with dropLast (so every batch has exactly size
// in-batch negatives). The same (n, size, seed, epoch, dropLast) always gives the same
// batches, on every platform.
func Batches(n, size int, seed uint64, epoch int, dropLast bool) ([][]int, error) {
	if n < 0 || size <= 0 || epoch < 0 {
		return nil, fmt.Errorf("batches: n=%d size=%d epoch=%d: want n ≥ 0, size > 0, epoch ≥ 0", n, size, epoch)
	}
	order := rand.New(rand.NewPCG(seed, shuffleStream(epoch))).Perm(n)
	batches := make([][]int, 0, n/size+1)
	for start := 0; start < n; start += size {
		end := min(start+size, n)
		if end-start < size && dropLast {
			break
		}
		batches = append(batches, order[start:end:end])
	}
	return batches, nil
}

// PositiveIndex chooses which of a query's n positives it trains with in epoch: one at
// random per query per epoch, as the recipe does, drawn from the seed, the epoch and the
// query's id alone, so the choice does not depend on the order queries are visited in. The
// caller keeps each query's positives in a fixed order (sorted ids, say). n must be positive:
// a query without positives cannot be trained on and is dropped when the data are loaded.
func PositiveIndex(seed uint64, epoch int, queryID string, n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("train: PositiveIndex: query %q has %d positives", queryID, n))
	}
	h := fnv.New64a()
	h.Write([]byte(queryID))
	pcg := rand.NewPCG(seed^h.Sum64(), positiveStream(epoch))
	return rand.New(pcg).IntN(n)
}
