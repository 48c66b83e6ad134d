package datavalue

import "math"

// Bounty is a reward multiplier per class for the classes the model is
// worst at: class c gets 1 + beta·e_c / max_k e_k, where e_c is the
// model's error rate on class c (validation rows). The worst class gets
// 1 + beta, a class without errors 1; with no errors at all every class
// gets 1. Non-finite or negative rates count as 0.
func Bounty(classErr []float64, beta float64) []float64 {
	worst := 0.0
	for _, e := range classErr {
		if e > worst && !math.IsInf(e, 1) {
			worst = e
		}
	}
	out := make([]float64, len(classErr))
	for c, e := range classErr {
		out[c] = 1
		if worst > 0 && e > 0 && !math.IsInf(e, 1) {
			out[c] += beta * e / worst
		}
	}
	return out
}

// RowBounty is the mean multiplier over rows labelled labels (mult by
// class): a data set's bounty. 1 for no rows; labels outside mult count 1.
func RowBounty(labels []int, mult []float64) float64 {
	if len(labels) == 0 {
		return 1
	}
	var s float64
	for _, y := range labels {
		if y >= 0 && y < len(mult) {
			s += mult[y]
		} else {
			s++
		}
	}
	return s / float64(len(labels))
}

// Score is what a data set earns by: its value (a Shapley value: quality
// and quantity together), if positive, times its bounty. A data set whose
// rows make the model worse, or add nothing (a copy, whose rows the
// deduplication took out), scores 0.
func Score(value, bounty float64) float64 {
	if !(value > 0) || math.IsInf(value, 1) {
		return 0
	}
	return value * bounty
}
