package dashboard

import (
	"bytes"
	"embed"
	"io"
)

// The page is plain HTML, CSS and JavaScript drawing SVG: no library, no
// network. The live page loads app.css and app.js from the server; the
// report inlines them with the run's data.
//
//go:embed assets
var assets embed.FS

func assetBytes(name string) []byte {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("BUG: asset " + name + " missing from the binary")
	}
	return b
}

// writePage writes the page: live (data nil: it asks the server for its
// data) or a report holding data, the JSON of a whole snapshot.
func writePage(w io.Writer, data []byte) error {
	page := assetBytes("index.html")
	before, after, _ := bytes.Cut(page, []byte("<!--assets-->"))
	var b bytes.Buffer
	b.Write(before)
	if data == nil {
		b.WriteString(`<link rel="stylesheet" href="app.css"><script src="app.js" defer></script>`)
	} else {
		b.WriteString("<style>\n")
		b.Write(assetBytes("app.css"))
		b.WriteString("</style>\n<script type=\"application/json\" id=\"gdask-data\">")
		// JSON encoded by encoding/json escapes <, > and &: it cannot
		// close the script element.
		b.Write(data)
		b.WriteString("</script>\n<script>\n")
		b.Write(assetBytes("app.js"))
		b.WriteString("</script>\n")
	}
	b.Write(after)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteReport writes the whole recording as one HTML file that opens
// with no server and no network.
func WriteReport(w io.Writer, rec *Recorder) error {
	return writePage(w, rec.snapshot(cursor{}, 0).appendJSON(nil))
}
