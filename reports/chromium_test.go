package reports_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
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

// browser is one headless Chromium for a test, driven over the DevTools
// protocol (chromedp): it opens pages, takes screenshots and measures the
// layout with a script that DevTools runs, so the report needs none (its
// CSP forbids scripts).
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	log []string // console messages, exceptions and browser log entries
}

func newBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1100, 1400), chromedp.UserDataDir(t.TempDir()), chromedp.Flag("hide-scrollbars", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			msg = "console." + string(ev.Type)
			for _, a := range ev.Args {
				msg += " " + string(a.Value) + a.Description
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
		case *cdplog.EventEntryAdded:
			msg = string(ev.Entry.Level) + " (" + string(ev.Entry.Source) + "): " + ev.Entry.Text
		default:
			return
		}
		b.mu.Lock()
		b.log = append(b.log, msg)
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// open loads a local file and returns the console messages it caused.
func (b *browser) open(t *testing.T, file string) []string {
	t.Helper()
	b.mu.Lock()
	b.log = nil
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	// Let the page's own load finish, then read what it logged.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`)); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.log...)
}

// probeJS measures every plot of the page as laid out: the texts that
// leave their SVG or their part of it (axes, legend), legends that
// overlap a path drawn on the axes, and plots wider than their place.
const probeJS = `(() => {
const out = [];
const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
const px = r => [r.left, r.top, r.right, r.bottom].map(v => v.toFixed(2)).join(",");
document.querySelectorAll("figure").forEach((fig, i) => {
  const svg = fig.querySelector(":scope > svg");
  const p = {plot: i + 1, texts: 0, paths: 0, legend: false, problems: []};
  if (!svg) { p.problems.push("no svg"); out.push(p); return; }
  const box = svg.getBoundingClientRect();
  if (box.width < 300 || box.height < 150) p.problems.push("plot is " + box.width + "x" + box.height + " px");
  if (box.right > fig.getBoundingClientRect().right + 0.5) p.problems.push("plot wider than its figure");
  svg.querySelectorAll("text").forEach(t => {
    const r = t.getBoundingClientRect();
    if (r.width === 0) return;
    p.texts++;
    const part = t.closest("svg.dais-axes, svg.dais-legend") || svg;
    if (!inside(r, box) || !inside(r, part.getBoundingClientRect())) p.problems.push("text \"" + t.textContent + "\" overflows its plot: [" + px(r) + "] outside [" + px(part.getBoundingClientRect()) + "] of [" + px(box) + "]");
  });
  const axes = svg.querySelector("svg.dais-axes"), legend = svg.querySelector("svg.dais-legend");
  if (!axes) p.problems.push("no axes");
  if (legend && axes) {
    p.legend = true;
    const lr = legend.getBoundingClientRect();
    if (!inside(lr, box)) p.problems.push("legend outside the plot");
    axes.querySelectorAll("path").forEach(path => {
      const r = path.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) return;
      p.paths++;
      if (overlap(lr, r)) p.problems.push("legend overlaps a plotted path");
    });
  }
  out.push(p);
});
return out;
})()`

type probed struct {
	Plot     int
	Texts    int
	Paths    int
	Legend   bool
	Problems []string
}

// probe measures the open page's plots.
func (b *browser) probe(t *testing.T) []probed {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]probed](probeJS))
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return got
}

// checkReport opens dir's report.html in headless Chromium: no console
// message (a fetch the CSP blocks, a broken element), a screenshot of the
// whole page to png, and every plot laid out with its texts inside it and
// no legend on the data.
func checkReport(t *testing.T, b *browser, dir, png string, plots int) {
	t.Helper()
	if msgs := b.open(t, filepath.Join(dir, reports.HTMLFile)); len(msgs) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil || len(shot) < 10000 {
		t.Errorf("screenshot: %d bytes, %v", len(shot), err)
	} else if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Error(err)
	}
	got := b.probe(t)
	if len(got) != plots {
		t.Fatalf("probe saw %d plots, want %d", len(got), plots)
	}
	for _, p := range got {
		// A title and two axis labels at least.
		if p.Texts < 3 {
			p.Problems = append(p.Problems, "fewer than 3 texts laid out")
		}
		if p.Legend && p.Paths == 0 {
			p.Problems = append(p.Problems, "a legend beside axes with nothing drawn")
		}
		for _, pr := range p.Problems {
			t.Errorf("plot %d: %s", p.Plot, pr)
		}
	}
}

// screenshots is where the PNGs go: $DAIS_SCREENSHOTS (CI keeps them as
// artifacts; .ci/run sets it), or a temporary folder.
func screenshots(t *testing.T) string {
	if d := os.Getenv("DAIS_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestShippedReportsInChromium runs every shipped scenario (the slow ones
// shortened by runner.Quick) and checks its report.html in headless Chromium, keeping a
// screenshot of each.
func TestShippedReportsInChromium(t *testing.T) {
	b := newBrowser(t, chromium(t))
	shots := screenshots(t)
	for _, name := range scenarios.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Builtin(name, runner.Quick[name]...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := runner.Run(sc, runner.Options{Version: "chromium-test"})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := reports.Write(dir, res.Run); err != nil {
				t.Fatal(err)
			}
			if res.Run.Finding == nil || len(res.Run.Finding.Keys) < 3 || res.Run.Finding.Text == "" {
				t.Errorf("no finding: %+v", res.Run.Finding)
			}
			checkReport(t, b, dir, filepath.Join(shots, name+".png"), len(res.Run.Plots))
		})
	}
}

// The synthetic run has a plot of every kind, overlays included.
func TestSyntheticReportInChromium(t *testing.T) {
	b := newBrowser(t, chromium(t))
	run := reports.Synthetic()
	dir := t.TempDir()
	if err := reports.Write(dir, run); err != nil {
		t.Fatal(err)
	}
	checkReport(t, b, dir, filepath.Join(screenshots(t), "synthetic.png"), len(run.Plots))
}

// The harness sees what it must catch: a fetch the CSP blocks reaches the
// console, and a legend drawn over the data, or a text out of its plot, is
// a problem the probe reports.
func TestChromiumCatchesProblems(t *testing.T) {
	b := newBrowser(t, chromium(t))
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.html")
	os.WriteFile(file, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="`+reports.CSP+`"></head>`+
		`<body><img src="https://example.org/x.png"></body></html>`), 0o644)
	if msgs := b.open(t, file); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "Content Security Policy") {
		t.Errorf("a blocked fetch left no console message: %q", msgs)
	}
	// A plot whose legend sits on the data and whose title runs off it.
	bad := `<svg width="400pt" height="200pt" viewBox="0 0 400 200" xmlns="http://www.w3.org/2000/svg">
<text x="-60" y="15">a label that starts left of the plot</text>
<svg class="dais-axes" x="0" y="22" width="400" height="178" viewBox="0 0 400 178"><path d="M10,10L390,170" style="stroke:#000" /><text x="20" y="100">y</text><text x="200" y="170">x</text></svg>
<svg class="dais-legend" x="150" y="60" width="120" height="60" viewBox="0 0 120 60"><text x="5" y="20">legend</text></svg>
</svg>`
	os.WriteFile(file, []byte(`<!DOCTYPE html><html><body><figure>`+bad+`</figure></body></html>`), 0o644)
	b.open(t, file)
	var problems []string
	for _, p := range b.probe(t) {
		problems = append(problems, p.Problems...)
	}
	joined := strings.Join(problems, "; ")
	for _, want := range []string{"legend overlaps a plotted path", `text "a label that starts left of the plot" overflows its plot`} {
		if !strings.Contains(joined, want) {
			t.Errorf("the probe missed %q; it said: %s", want, joined)
		}
	}
}
