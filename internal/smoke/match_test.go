package smoke

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The matcher decides whether the README tells the truth: it must reject
// as surely as it accepts.
func TestMatchJSON(t *testing.T) {
	tests := []struct {
		name, want, got string
		ok              bool
	}{
		{"equal", `{"a":1}`, `{"a":1}`, true},
		{"extra keys in the answer", `{"a":1}`, `{"a":1,"b":2}`, true},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, false},
		{"different number", `{"used":0}`, `{"used":1}`, false},
		{"any value", `{"id":"…"}`, `{"id":{"x":[1]}}`, true},
		{"wildcard inside a string", `{"t":"…T00:00:00Z"}`, `{"t":"2026-11-26T00:00:00Z"}`, true},
		{"wildcard inside a string mismatch", `{"t":"…T00:00:00Z"}`, `{"t":"2026-11-26T01:00:00Z"}`, false},
		{"string vs number", `{"a":"1"}`, `{"a":1}`, false},
		{"closed array length", `[1,2]`, `[1,2,3]`, false},
		{"open array", `[1,2,"…"]`, `[1,2,3]`, true},
		{"open array too short", `[1,2,"…"]`, `[1]`, false},
		{"nested", `{"models":[{"id":"fast","available":true},"…"]}`, `{"models":[{"id":"fast","available":true,"name":"x"},{"id":"smart"}]}`, true},
		{"nested mismatch", `{"models":[{"id":"fast","available":true},"…"]}`, `{"models":[{"id":"fast","available":false}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w, g any
			mustJSON(t, tc.want, &w)
			mustJSON(t, tc.got, &g)
			msg := matchJSON(w, g, "$")
			assert.Equal(t, tc.ok, msg == "", msg)
		})
	}
}

func TestCommands(t *testing.T) {
	block := "# describe\nTOKEN=$(curl -s x \\\n  -d '{\"a\":\"#b\"}')\n\ncurl -s y  # remark\n# {\"ok\":true}\n\nmake test\n"
	got := commands(block)
	assert.Equal(t, []command{
		{run: "TOKEN=$(curl -s x \\\n  -d '{\"a\":\"#b\"}')"},
		{run: "curl -s y", want: []string{`{"ok":true}`}},
		{run: "make test"},
	}, got)
}

func TestMatchOutput(t *testing.T) {
	stream := "event: meta\ndata: {\"model\":\"fast\",\"provider\":\"mock\"}\n\ndata: \"Hi\"\n\nevent: done\ndata: {\"finish_reason\":\"stop\"}\n\n"
	tests := []struct {
		name string
		want []string
		got  string
		ok   bool
	}{
		{"stream in order", []string{"event: meta", `data: {"provider":"mock"}`, "…", "event: done", `data: {"finish_reason":"stop"}`}, stream, true},
		{"stream out of order", []string{"event: done", "event: meta"}, stream, false},
		{"stream wrong data", []string{"event: meta", `data: {"provider":"groq"}`}, stream, false},
		{"json", []string{`{"used":1}`}, `{"used":1,"limit":50}` + "\n", true},
		{"json mismatch", []string{`{"used":0}`}, `{"used":1}`, false},
		{"not json", []string{`{"used":0}`}, `Unauthorized`, false},
		{"json keys in the answer's order", []string{`{"limit":50,"used":1}`}, `{"limit":50,"remaining":49,"used":1}`, true},
		{"json keys out of order", []string{`{"used":1,"limit":50}`}, `{"limit":50,"used":1}`, false},
		{"nested keys out of order", []string{`{"models":[{"name":"x","id":"fast"},"…"]}`}, `{"models":[{"id":"fast","name":"x"}]}`, false},
		{"stream data keys out of order", []string{"event: meta", `data: {"provider":"mock","model":"fast"}`}, stream, false},
		{"stream data keys in order", []string{"event: meta", `data: {"model":"fast"}`, "…", `data: {"finish_reason":"stop"}`}, stream, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := matchOutput(tc.want, tc.got)
			assert.Equal(t, tc.ok, msg == "", msg)
		})
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := jsonUnmarshal(s, v); err != nil {
		t.Fatal(err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
