package api

import (
	"bytes"
	_ "embed" // for the contract as written
)

//go:embed openapi.yaml
var specYAML []byte

// SpecYAML returns api/openapi.yaml exactly as written (a copy).
func SpecYAML() []byte { return bytes.Clone(specYAML) }
