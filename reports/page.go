package reports

import (
	"fmt"
	"html/template"
	"io"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
{{.Body}}
</main>
</body>
</html>
`))

// Page writes a self-contained HTML page in the style of the run reports
// — the same inline style sheet and the policy that forbids scripts and
// fetches — around body, which the caller has escaped (html/template).
// Other reports (a sweep's) use it to look like run reports.
func Page(w io.Writer, title string, body template.HTML) error {
	err := pageTmpl.Execute(w, map[string]any{"CSS": template.CSS(css), "CSP": csp, "Title": title, "Body": body})
	if err != nil {
		return fmt.Errorf("reports: page: %w", err)
	}
	return nil
}

// InlineSVG strips an SVG document's XML prolog so it can sit inside HTML.
func InlineSVG(svg []byte) []byte { return inlineSVG(svg) }
