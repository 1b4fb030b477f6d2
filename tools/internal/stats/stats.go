// Package stats holds the statistics of the experiment report: mean and standard
// deviation over seeds, and two-sided paired tests over per-query scores (the paired
// t-test and the sign-flip randomization test, which IR evaluation favours because it
// assumes nothing about the score distribution).
package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// MeanStd returns the mean of xs and their sample standard deviation (n−1 in the
// denominator); the deviation of fewer than two values is 0.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// differences returns a[i]−b[i], checking that the samples pair up.
func differences(a, b []float64) ([]float64, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("paired test: %d and %d scores do not pair up", len(a), len(b))
	}
	if len(a) < 2 {
		return nil, errors.New("paired test: fewer than 2 pairs")
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d, nil
}

// PairedT is the two-sided paired t-test of mean(a−b) = 0, as scipy.stats.ttest_rel
// computes it. When every difference is 0 the samples are identical: t is 0 and p 1.
func PairedT(a, b []float64) (t, p float64, err error) {
	d, err := differences(a, b)
	if err != nil {
		return 0, 0, err
	}
	mean, std := MeanStd(d)
	if std == 0 {
		if mean == 0 {
			return 0, 1, nil
		}
		return math.Copysign(math.Inf(1), mean), 0, nil
	}
	t = mean / (std / math.Sqrt(float64(len(d))))
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(d) - 1)}
	return t, 2 * dist.Survival(math.Abs(t)), nil
}

// exactLimit is the largest sample whose 2^n sign patterns are all enumerated.
const exactLimit = 20

// PairedRandomization is the two-sided sign-flip randomization test of mean(a−b) = 0:
// under the null hypothesis each pair's difference is as likely negated, so p is the
// share of sign patterns whose mean difference is at least as far from 0 as the
// observed one. Up to 20 pairs every pattern is counted (the exact test, as
// scipy.stats.permutation_test computes it); beyond, rounds patterns drawn from seed
// are, and p = (hits+1)/(rounds+1).
func PairedRandomization(a, b []float64, rounds int, seed uint64) (float64, error) {
	d, err := differences(a, b)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, x := range d {
		sum += x
	}
	// A relative tolerance, as SciPy's, so that patterns equal to the observed sum
	// up to rounding count as at least as extreme.
	observed := math.Abs(sum) * (1 - 1e-14)
	if len(d) <= exactLimit {
		hits := 0
		for mask := range 1 << len(d) {
			var s float64
			for i, x := range d {
				if mask>>i&1 == 1 {
					x = -x
				}
				s += x
			}
			if math.Abs(s) >= observed {
				hits++
			}
		}
		return float64(hits) / float64(int(1)<<len(d)), nil
	}
	if rounds < 1 {
		return 0, fmt.Errorf("paired test: %d rounds", rounds)
	}
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	hits := 0
	for range rounds {
		var s float64
		for i := 0; i < len(d); i += 64 {
			bits := rng.Uint64()
			for j, x := range d[i:min(i+64, len(d))] {
				if bits>>j&1 == 1 {
					x = -x
				}
				s += x
			}
		}
		if math.Abs(s) >= observed {
			hits++
		}
	}
	return float64(hits+1) / float64(rounds+1), nil
}
