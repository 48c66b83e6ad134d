package reports

import "github.com/dais-sim/dais/metrics"

// For the external tests (reports_test), which may import what imports
// reports (sim/runner).

// CSP is the report's Content-Security-Policy.
const CSP = csp

// Synthetic is a run with data for every plot kind.
func Synthetic() *metrics.Run { return synthetic() }
