package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/metrics"
)

// chromium returns the path of a Chromium binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed: this test opens report.html headless where it is (Debian: apt-get install -y chromium)")
	return ""
}

// headless opens a local file in headless Chromium and returns the DOM after
// load and Chromium's log, which holds the page's console messages.
func headless(t *testing.T, bin, file string) (dom, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--window-size=1280,1024", "--dump-dom", "file://"+file)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// TestHTMLInChromium opens report.html from disk in headless Chromium:
// no console message at all (a fetch the page's CSP blocks, a broken
// element or a script error would log one), and every plot laid out
// visible with its text.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	for _, r := range []struct {
		name string
		run  func() *metrics.Run
	}{{"synthetic", synthetic}, {"demo", func() *metrics.Run { return demoRun(t) }}} {
		src := r.run()
		n := len(src.Plots)
		dir := filepath.Join(t.TempDir(), r.name)
		if err := Write(dir, src); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, HTMLFile)
		dom, log := headless(t, bin, file)
		if m := consoleLine.FindAllString(log, -1); len(m) > 0 {
			t.Errorf("%s: console messages:\n%s", r.name, strings.Join(m, "\n"))
		}
		if n := strings.Count(dom, "<svg "); n != len(src.Plots) {
			t.Errorf("%s: %d SVGs in the loaded DOM, want %d", r.name, n, len(src.Plots))
		}

		// Layout: a copy of the page with a script that measures each plot
		// (the report itself has no script, and its CSP forbids one).
		html, _ := os.ReadFile(file)
		probe := strings.Replace(string(html), `default-src &#39;none&#39;;`, `default-src &#39;none&#39;; script-src &#39;unsafe-inline&#39;;`, 1)
		probe = strings.Replace(probe, "</body>", `<script>
const rows = [...document.querySelectorAll("figure svg")].map(s => {
  const r = s.getBoundingClientRect(), cs = getComputedStyle(s);
  const t = [...s.querySelectorAll("text")].filter(e => e.getBoundingClientRect().width > 0).length;
  return [Math.round(r.width), Math.round(r.height), cs.display, cs.visibility, t].join(",");
});
document.body.insertAdjacentHTML("beforeend", "<pre id=probe>" + rows.join(";") + "</pre>");
</script></body>`, 1)
		pfile := filepath.Join(dir, "probe.html")
		os.WriteFile(pfile, []byte(probe), 0o644)
		pdom, plog := headless(t, bin, pfile)
		if m := consoleLine.FindAllString(plog, -1); len(m) > 0 {
			t.Errorf("%s probe: console messages:\n%s", r.name, strings.Join(m, "\n"))
		}
		m := regexp.MustCompile(`<pre id="probe">([^<]*)</pre>`).FindStringSubmatch(pdom)
		if m == nil {
			t.Fatalf("%s: the probe did not run", r.name)
		}
		plots := strings.Split(m[1], ";")
		if len(plots) != n {
			t.Fatalf("%s: probe saw %d plots, want %d: %q", r.name, len(plots), n, m[1])
		}
		for i, p := range plots {
			f := strings.Split(p, ",")
			w, _ := strconv.Atoi(f[0])
			h, _ := strconv.Atoi(f[1])
			texts, _ := strconv.Atoi(f[4])
			// A title and two axis labels at least, on a plot of real size.
			if w < 300 || h < 150 || f[2] == "none" || f[3] != "visible" || texts < 3 {
				t.Errorf("%s plot %d: %dx%d px, display %s, visibility %s, %d texts laid out", r.name, i+1, w, h, f[2], f[3], texts)
			}
		}
		t.Logf("%s: %d plots visible (%s)", r.name, len(plots), m[1])
	}
}

// The harness sees what it must catch: a fetch the CSP blocks and a script
// error both reach the log.
func TestChromiumCatchesConsoleErrors(t *testing.T) {
	bin := chromium(t)
	file := filepath.Join(t.TempDir(), "bad.html")
	os.WriteFile(file, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="`+csp+`"></head>`+
		`<body><img src="https://example.org/x.png"></body></html>`), 0o644)
	_, log := headless(t, bin, file)
	if m := consoleLine.FindAllString(log, -1); len(m) == 0 || !strings.Contains(m[0], "Content Security Policy") {
		t.Errorf("a blocked fetch left no console message: %q", m)
	}
}
