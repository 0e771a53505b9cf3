package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/genzai/genzai/domain"
)

func TestToolCallsGathersPieces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pieces [][]domain.ToolCallDelta
		want   []domain.ToolCall
	}{
		{"none", nil, nil},
		{"one call in pieces", [][]domain.ToolCallDelta{
			{{Index: 0, ID: "call_1", Name: "get_"}},
			{{Index: 0, Name: "weather", Arguments: `{"city":`}},
			{{Index: 0, Arguments: `"Paris"}`}},
		}, []domain.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{"two calls interleaved, in the order their indexes came", [][]domain.ToolCallDelta{
			{{Index: 3, ID: "b", Name: "second"}, {Index: 1, ID: "a", Name: "first"}},
			{{Index: 1, Arguments: "{}"}, {Index: 3, Arguments: "[]"}},
		}, []domain.ToolCall{{ID: "b", Name: "second", Arguments: "[]"}, {ID: "a", Name: "first", Arguments: "{}"}}},
		{"a later empty id keeps the first", [][]domain.ToolCallDelta{
			{{Index: 0, ID: "call_1", Name: "f"}},
			{{Index: 0, ID: "", Arguments: "{}"}},
		}, []domain.ToolCall{{ID: "call_1", Name: "f", Arguments: "{}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got domain.ToolCalls
			for _, p := range tt.pieces {
				got.Add(p)
			}
			assert.Equal(t, tt.want, got.Calls())
		})
	}
}
