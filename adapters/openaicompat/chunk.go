package openaicompat

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// decodeChunk decodes one chat.completion.chunk. Every token of an answer
// passes through here, and encoding/json spends most of its time scanning
// the fields genzai ignores (id, model, logprobs, x_groq, ...), twice: so
// a single-pass reader handles the shapes upstreams send, and anything it
// is not sure about (escapes in keys, keys differing only in case, several
// choices, numbers that are not plain integers, a type it does not expect,
// tool calls: rarer than content tokens and nested deeper) goes to
// json.Unmarshal, whose result it must equal (FuzzDecodeChunk checks that).
func decodeChunk(data string) (chunk, error) {
	if ch, ok := fastChunk(data); ok {
		return ch, nil
	}
	var ch chunk
	err := json.Unmarshal([]byte(data), &ch)
	return ch, err
}

// fastChunk is the single-pass reader; ok is false when json.Unmarshal
// must decide.
func fastChunk(data string) (ch chunk, ok bool) {
	p := &jsonScan{s: data}
	p.space()
	var seen [3]bool // a repeated member merges in encoding/json: let it
	ok = p.object(func(key string) bool {
		if i := slices.Index(chunkKeys, key); i >= 0 {
			if seen[i] {
				return false
			}
			seen[i] = true
		}
		switch key {
		case "choices":
			return p.choices(&ch)
		case "usage":
			if p.null() {
				ch.Usage = nil
				return true
			}
			ch.Usage = &usage{}
			return p.usage(ch.Usage)
		case "error":
			start := p.i
			if !p.skip() {
				return false
			}
			ch.Error = json.RawMessage(data[start:p.i])
			return true
		}
		if foldsTo(key, "choices", "usage", "error") {
			return false // encoding/json matches keys case-insensitively
		}
		return p.skip()
	})
	if !ok {
		return chunk{}, false
	}
	p.space()
	return ch, p.i == len(p.s)
}

// chunkKeys are the members of a chunk that genzai reads.
var chunkKeys = []string{"choices", "usage", "error"}

// choices reads the choices array: at most one element (more could hold
// values encoding/json would refuse in elements genzai never reads).
func (p *jsonScan) choices(ch *chunk) bool {
	if p.null() {
		ch.Choices = nil
		return true
	}
	if !p.consume('[') {
		return false
	}
	p.space()
	if p.consume(']') {
		ch.Choices = []choice{}
		return true
	}
	var c choice
	var seenDelta, seenFinish, seenContent bool
	ok := p.object(func(key string) bool {
		switch key {
		case "delta":
			if seenDelta {
				return false
			}
			seenDelta = true
			if p.null() {
				return true // null leaves the struct as it is
			}
			return p.object(func(key string) bool {
				if key == "tool_calls" {
					return p.null() // null leaves the slice nil; anything else is for encoding/json
				}
				if key == "content" {
					if seenContent {
						return false
					}
					seenContent = true
					if p.null() {
						c.Delta.Content = nil
						return true
					}
					s, ok := p.str()
					c.Delta.Content = &s
					return ok
				}
				if foldsTo(key, "content", "tool_calls") {
					return false
				}
				return p.skip()
			})
		case "finish_reason":
			if seenFinish {
				return false
			}
			seenFinish = true
			if p.null() {
				c.FinishReason = nil
				return true
			}
			s, ok := p.str()
			c.FinishReason = &s
			return ok
		}
		if foldsTo(key, "delta", "finish_reason") {
			return false
		}
		return p.skip()
	})
	if !ok {
		return false
	}
	p.space()
	if !p.consume(']') {
		return false
	}
	ch.Choices = []choice{c}
	return true
}

// usage reads the usage object's token counts.
func (p *jsonScan) usage(u *usage) bool {
	var seenPrompt, seenCompletion bool
	return p.object(func(key string) bool {
		switch key {
		case "prompt_tokens":
			if seenPrompt {
				return false
			}
			seenPrompt = true
			return p.integer(&u.PromptTokens)
		case "completion_tokens":
			if seenCompletion {
				return false
			}
			seenCompletion = true
			return p.integer(&u.CompletionTokens)
		}
		if foldsTo(key, "prompt_tokens", "completion_tokens") {
			return false
		}
		return p.skip()
	})
}

// foldsTo reports whether key equals one of names ignoring case (it is not
// one of them exactly: the caller has checked that).
func foldsTo(key string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}

// jsonScan reads JSON from s at i. Its methods return false on anything
// unexpected, leaving the decision to encoding/json.
type jsonScan struct {
	s string
	i int
}

func (p *jsonScan) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (p *jsonScan) consume(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// null consumes a null literal if one comes next.
func (p *jsonScan) null() bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], "null") {
		p.i += 4
		return true
	}
	return false
}

// object reads an object, calling member with each key (without escapes)
// positioned at its value; member consumes the value.
func (p *jsonScan) object(member func(key string) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	for {
		p.space()
		key, ok := p.plainStr()
		if !ok || !p.consume(':') {
			return false
		}
		p.space()
		if !member(key) {
			return false
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}')
	}
}

// plainStr reads a string without escapes and with only valid UTF-8 (the
// common case, returned without copying).
func (p *jsonScan) plainStr() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			v := p.s[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false // encoding/json substitutes U+FFFD
			}
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// str reads a string value; escapes are decoded by encoding/json.
func (p *jsonScan) str() (string, bool) {
	p.space()
	if v, ok := p.plainStr(); ok {
		return v, true
	}
	start := p.i
	if !p.skipStr() {
		return "", false
	}
	var v string
	if json.Unmarshal([]byte(p.s[start:p.i]), &v) != nil {
		return "", false
	}
	return v, true
}

// integer reads a plain decimal integer that fits an int.
func (p *jsonScan) integer(n *int) bool {
	p.space()
	start := p.i
	if !p.skipNumber() {
		return false
	}
	v, neg, digits := 0, false, p.s[start:p.i]
	if digits[0] == '-' {
		neg, digits = true, digits[1:]
	}
	if len(digits) > 18 {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false // a fraction or exponent: encoding/json refuses it for an int
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	*n = v
	return true
}

// skip consumes one value of any type, checking its syntax.
func (p *jsonScan) skip() bool {
	p.space()
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(func(string) bool { return p.skip() })
	case c == '[':
		p.i++
		if p.consume(']') {
			return true
		}
		for {
			if !p.skip() {
				return false
			}
			if p.consume(',') {
				continue
			}
			return p.consume(']')
		}
	case c == '"':
		return p.skipStr()
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.i:], lit) {
			p.i += len(lit)
			return true
		}
	}
	return false
}

// skipStr consumes a string, checking its escapes.
func (p *jsonScan) skipStr() bool {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return false
	}
	for j := p.i + 1; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(p.s) {
				return false
			}
			switch p.s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(p.s) {
					return false
				}
				for _, h := range []byte(p.s[j+1 : j+5]) {
					if !isHex(h) {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// skipNumber consumes a number per the JSON grammar.
func (p *jsonScan) skipNumber() bool {
	s, i := p.s, p.i
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	p.i = i
	return true
}
