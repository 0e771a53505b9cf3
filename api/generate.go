// Package api holds the HTTP contract of genzai: the OpenAPI document and the
// Go code generated from it (models, the Echo strict server interface and a client).
package api

//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config config.yaml openapi.yaml
