package scenarios

import "bytes"

// The YAML parser's cost grows faster than the file for deep nesting (a
// file of 40,000 nested brackets took it a minute and 2.5 GB) and its
// memory is about a hundred times the file for long lists, so the loader
// bounds both before the parser sees the bytes: MaxFileBytes, and the
// nesting that scanNesting measures in one pass.

// utf8BOM is what some editors put at the start of a UTF-8 file; YAML
// allows it and it means nothing.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// prescanDepth is where scanNesting refuses. Its estimate can exceed the
// real depth by one on a line (a plain scalar continued on a deeper line),
// so it refuses well above maxDepth and leaves the exact check to the
// converter, which sees nodes.
const prescanDepth = 2 * maxDepth

// scanNesting estimates, in time linear in the file, how deeply its YAML
// nests: block levels by indentation (each "- " at a line's start opens
// one), plus flow levels by brackets outside quotes and comments, skipping
// the deeper lines after a line that ends in a value (the text of a block
// scalar or of a plain scalar continued). It returns the line and column
// where the estimate first passes limit, or 0, 0.
func scanNesting(data []byte, limit int) (line, col int) {
	var stack []int    // indentation of the open block levels
	flow := 0          // open [ and { brackets
	var quote byte     // the quote of a quoted scalar that spans lines, or 0
	scalarIndent := -1 // lines deeper than this are a scalar's text
	for ln, rest := 1, data; len(rest) > 0; ln++ {
		text := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		text = bytes.TrimRight(text, "\r")
		indent := 0
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		blank := indent == len(text) || text[indent] == '#'
		if scalarIndent >= 0 {
			if blank || indent > scalarIndent {
				continue // a line of a block scalar: text, not structure
			}
			scalarIndent = -1
		}
		if blank && quote == 0 {
			continue
		}
		i := indent
		if flow == 0 && quote == 0 {
			for len(stack) > 0 && stack[len(stack)-1] > indent {
				stack = stack[:len(stack)-1]
			}
			// Each "- " opens a sequence level at its column, and what
			// follows it starts a level at its own column.
			for {
				if len(stack) == 0 || stack[len(stack)-1] < i {
					stack = append(stack, i)
				}
				if len(stack) > limit {
					return ln, i + 1
				}
				if i < len(text) && text[i] == '-' && (i+1 == len(text) || text[i+1] == ' ') {
					i++
					for i < len(text) && text[i] == ' ' {
						i++
					}
					continue
				}
				break
			}
		}
		valueStart := true // at the start of a value: a bracket or quote opens one
		for ; i < len(text); i++ {
			c := text[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++
				case c == quote && quote == '\'' && i+1 < len(text) && text[i+1] == '\'':
					i++
				case c == quote:
					quote, valueStart = 0, false
				}
				continue
			}
			switch {
			case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
				i = len(text)
				continue
			case (c == '"' || c == '\'') && valueStart:
				quote = c
				continue
			case (c == '[' || c == '{') && valueStart:
				flow++
				if len(stack)+flow > limit {
					return ln, i + 1
				}
			case (c == ']' || c == '}') && flow > 0:
				flow--
				valueStart = false
			case c == ',' && flow > 0:
				valueStart = true
			case c == ':' && (i+1 == len(text) || text[i+1] == ' ' || flow > 0):
				valueStart = true
			case c == '-' && valueStart && (i+1 == len(text) || text[i+1] == ' '):
			case (c == '&' || c == '!') && valueStart: // an anchor or tag before the value
				for i+1 < len(text) && text[i+1] != ' ' {
					i++
				}
			case c == ' ' || c == '\t':
			default:
				valueStart = false
			}
		}
		// A line that ends in a value (a plain or quoted scalar, a block
		// scalar's header, a closed flow collection) has no children: lines
		// deeper than its innermost level are that scalar's text.
		if quote == 0 && flow == 0 && !valueStart && len(stack) > 0 {
			scalarIndent = stack[len(stack)-1]
		}
	}
	return 0, 0
}
