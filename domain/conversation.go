package domain

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ConversationID names a conversation (a UUID).
type ConversationID string

// MessageID names a stored message; ids grow with each message stored, so
// they order a conversation's messages.
type MessageID int64

// Conversation is a thread of messages the server keeps for its owner.
type Conversation struct {
	ID     ConversationID
	UserID UserID
	// Title is empty until the user names the conversation or its first
	// prompt does.
	Title     string
	CreatedAt time.Time
	// UpdatedAt is the last activity: creation, then each message stored.
	// Renaming does not move it.
	UpdatedAt time.Time
}

// NewConversation is a conversation to create.
type NewConversation struct {
	UserID    UserID
	Title     string
	CreatedAt time.Time
}

// MessageRole says who wrote a stored message.
type MessageRole string

// The roles of stored messages: the system prompt is never stored.
const (
	MessageFromUser      MessageRole = RoleUser
	MessageFromAssistant MessageRole = RoleAssistant
)

// MessageStatus says whether a stored answer arrived whole.
type MessageStatus string

// The statuses of stored messages.
const (
	MessageComplete MessageStatus = "complete"
	// MessageInterrupted: the answer was cut short (client gone, provider
	// dropped); the message holds what arrived.
	MessageInterrupted MessageStatus = "interrupted"
)

// ConversationMessage is one stored message of a conversation. The answer's
// provenance (tier, provider, model, request id, usage, sources) is set on
// assistant messages only.
type ConversationMessage struct {
	ID             MessageID
	ConversationID ConversationID
	Role           MessageRole
	Content        string
	Status         MessageStatus
	Tier           Tier
	Provider       Provider
	UpstreamModel  string
	RequestID      string
	Usage          Usage
	// Sources are the web search results the answer was given, in order.
	Sources   []SearchResult
	CreatedAt time.Time
}

// NewConversationMessage is a message to append to UserID's conversation.
type NewConversationMessage struct {
	UserID  UserID
	Message ConversationMessage
	// TitleIfUntitled becomes the conversation's title, in the same write,
	// when it has none yet (the title from the first prompt).
	TitleIfUntitled string
}

// ConversationCursor is the position after which a list continues: the
// last conversation of the previous page (lists run by UpdatedAt, then ID,
// both descending).
type ConversationCursor struct {
	UpdatedAt time.Time
	ID        ConversationID
}

// ConversationFilter selects a page of a user's conversations, most
// recently active first.
type ConversationFilter struct {
	UserID UserID
	// Query, when not blank, keeps the conversations whose title or one of
	// whose messages holds every word of it (whole words, any case).
	Query string
	// After continues a list; nil starts it.
	After *ConversationCursor
	Limit int
}

// MessagePage selects a page of a conversation's messages, oldest first.
type MessagePage struct {
	// AfterID continues a page after this message; 0 starts at the first.
	AfterID MessageID
	// BeforeID, when set, reads the thread from its end instead: the page
	// is the last Limit messages before this one (AfterID unused), and
	// EndOfThread starts at the latest.
	BeforeID MessageID
	Limit    int
}

// EndOfThread as MessagePage.BeforeID pages a thread from its latest message.
const EndOfThread MessageID = math.MaxInt64

// The conversation limits.
const (
	// MaxConversationTitleLen bounds a title, in characters.
	MaxConversationTitleLen = 200
	// MaxDerivedTitleLen bounds a title taken from the first prompt.
	MaxDerivedTitleLen = 80
	// MaxConversationPage bounds a page of conversations.
	MaxConversationPage = 100
	// MaxMessagePage bounds a page of messages.
	MaxMessagePage = 200
)

// ErrConversationNotFound answers every conversation the caller does not
// own, so that another user's id reads exactly as a missing one.
var ErrConversationNotFound = Errorf(CodeNotFound, "Conversation not found")

// ConversationLimitError: the user already has the most conversations allowed.
func ConversationLimitError(max int) error {
	return Errorf(CodeConflict, "You already have %d conversations (the most allowed): delete one first", max)
}

// ErrTurnLost: the turn's lease is no longer held (it expired and another
// turn took the conversation), so the turn stores nothing.
var ErrTurnLost = Errorf(CodeConflict, "The conversation was taken by another turn")

// ConversationBusyError: another chat is answering in the conversation, so
// a second one would interleave its turns; the client retries once it ends.
type ConversationBusyError struct {
	ID ConversationID
}

// Error implements error.
func (e *ConversationBusyError) Error() string {
	return fmt.Sprintf("conversation %s is busy with another turn", e.ID)
}

// ErrorCode implements Coded.
func (e *ConversationBusyError) ErrorCode() Code { return CodeConversationBusy }

// PublicMessage implements Coded.
func (e *ConversationBusyError) PublicMessage() string {
	return "This conversation is answering another message: try again when it ends"
}

// NormalizeConversationTitle trims a title the user gave and checks it: 1
// to MaxConversationTitleLen characters of valid UTF-8, no control
// characters.
func NormalizeConversationTitle(title string) (string, error) {
	t := strings.TrimSpace(title)
	switch {
	case !utf8.ValidString(t):
		return "", Invalid("title", "must be valid UTF-8")
	case t == "":
		return "", Invalid("title", "must not be blank")
	case utf8.RuneCountInString(t) > MaxConversationTitleLen:
		return "", Invalid("title", "must be at most %d characters", MaxConversationTitleLen)
	case strings.ContainsFunc(t, unicode.IsControl):
		return "", Invalid("title", "must not contain control characters")
	}
	return t, nil
}

// TitleFromPrompt derives a conversation's title from its first prompt
// without a model call: the prompt's first sentence (or line), with runs of
// white space and control characters made one space, cut at a word
// boundary to at most MaxDerivedTitleLen characters (never inside a
// character) with an ellipsis when cut. Empty for a blank prompt.
func TitleFromPrompt(prompt string) string {
	s := strings.ToValidUTF8(prompt, "")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 && strings.TrimSpace(s[:i]) != "" {
		s = s[:i]
	}
	s = firstSentence(s)
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(s) <= MaxDerivedTitleLen {
		return s
	}
	const ellipsis = "…"
	runes := []rune(s)[:MaxDerivedTitleLen-1]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i] // at a word boundary, unless that loses most of it
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + ellipsis
}

// firstSentence is s up to and including its first sentence end: '.', '!'
// or '?' (or their full-width forms) followed by white space or the end.
func firstSentence(s string) string {
	for i, r := range s {
		switch r {
		case '.', '!', '?', '。', '！', '？':
			rest := s[i+utf8.RuneLen(r):]
			if next, _ := utf8.DecodeRuneInString(rest); rest == "" || unicode.IsSpace(next) || r >= 0x3000 {
				if strings.TrimSpace(s[:i]) != "" {
					return s[:i+utf8.RuneLen(r)]
				}
			}
		}
	}
	return s
}

// SearchWords splits a conversation search query into the words every
// store matches, whole and in any case: runs of letters and digits,
// lower-cased. A query without any matches everything.
func SearchWords(query string) []string {
	return strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
