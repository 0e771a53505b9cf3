package main

import (
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// table prints rows in columns aligned by the cells a terminal draws, not by
// bytes or runes as text/tabwriter counts: an emoji takes two cells.
type table struct {
	rows [][]string
}

// row adds one row of cells.
func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// write prints the rows, columns two spaces apart, without trailing spaces.
func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is the number of terminal cells s takes: two for wide and
// fullwidth characters (most emoji among them) and for a character shown as
// an emoji by a following variation selector 16, none for combining marks
// and format characters, one otherwise.
func displayWidth(s string) int {
	w, last := 0, 0
	for _, r := range s {
		switch {
		case r == '\uFE0F': // emoji presentation of the character before it
			if last == 1 {
				w, last = w+1, 2
			}
			continue
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
			continue
		}
		last = 1
		if k := width.LookupRune(r).Kind(); k == width.EastAsianWide || k == width.EastAsianFullwidth {
			last = 2
		}
		w += last
	}
	return w
}
