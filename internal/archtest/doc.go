// Package archtest holds the architecture test: the layering and size rules
// of the house style (dependencies point inward, cmd reaches adapters only
// through app, short functions, short domain files), checked over the
// source tree with go/parser so that a change that breaks one fails
// `go test`. It has no code of its own.
package archtest
