// Package web holds the web app's built bundle: web/dist, built from the
// sources beside it by `make web` (Vite) and committed, so that the binary
// serves the app without Node on the machine that builds it.
package web

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist is the built app: index.html at its root, files with a content hash
// in their names under assets/, and the few unhashed files (favicon.svg).
func Dist() (fs.FS, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, fmt.Errorf("web app bundle: %w", err)
	}
	return sub, nil
}
