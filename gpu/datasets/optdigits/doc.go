// Package optdigits embeds the UCI "Optical Recognition of Handwritten
// Digits" data set (Alpaydin & Kaynak 1998, CC BY 4.0; see data/LICENSE.md)
// and loads it as datasets.Dataset: 3,823 training rows and 1,797 test rows
// written by different people, 64 features (an 8×8 grid of pixel counts
// 0..16, scaled to [0, 1]) and a digit class 0..9.
//
//	train, test, err := optdigits.Load()
//
// The data travels inside the binary (about 170 kB gzip) so that a fresh
// clone, a test and a live node all train on the same rows with no
// download.
package optdigits
