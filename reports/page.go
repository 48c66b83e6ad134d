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
<h1>{{.Title}}</h1>
{{.Body}}
</main>
</body>
</html>
`))

// Page writes a self-contained HTML page in the run reports' style (the
// same inline style, and a CSP that forbids every fetch and script) with
// title and body, for the other reports dais writes (dais tune). body is
// trusted HTML; an SVG inside it goes through InlineSVG.
func Page(w io.Writer, title string, body template.HTML) error {
	err := pageTmpl.Execute(w, map[string]any{"CSS": template.CSS(css), "CSP": csp, "Title": title, "Body": body})
	if err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	return nil
}

// InlineSVG is a gonum/plot SVG document ready to sit inside HTML: its XML
// prolog stripped (gonum/plot escapes its own text).
func InlineSVG(svg []byte) template.HTML { return template.HTML(inlineSVG(svg)) }
