package sweep

// WriteReport writes report.md, report.html and plots/ into dir.
func (r *Result) WriteReport(dir string) error { return nil }
