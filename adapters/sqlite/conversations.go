package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/sqlite/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ConversationStore = (*DB)(nil)

// convRow is a conversation as every query of one reads it (their row
// types convert to it).
type convRow struct {
	ID        string
	UserID    string
	Title     string
	CreatedAt int64
	UpdatedAt int64
}

func toConversation(r convRow) domain.Conversation {
	return domain.Conversation{
		ID: domain.ConversationID(r.ID), UserID: domain.UserID(r.UserID), Title: r.Title,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}
}

func toMessage(r sqlcgen.Message) (domain.ConversationMessage, error) {
	sources, err := sqlval.DecodeSources([]byte(r.Sources))
	if err != nil {
		return domain.ConversationMessage{}, err
	}
	return domain.ConversationMessage{
		ID: domain.MessageID(r.ID), ConversationID: domain.ConversationID(r.ConversationID),
		Role: domain.MessageRole(r.Role), Content: r.Content, Status: domain.MessageStatus(r.Status),
		Tier: domain.Tier(sqlval.Deref(r.Tier)), Provider: domain.Provider(sqlval.Deref(r.Provider)),
		UpstreamModel: sqlval.Deref(r.UpstreamModel), RequestID: sqlval.Deref(r.RequestID),
		Usage:   domain.Usage{PromptTokens: int(r.PromptTokens), CompletionTokens: int(r.CompletionTokens)},
		Sources: sources, CreatedAt: fromMicros(r.CreatedAt),
	}, nil
}

func toMessages(rows []sqlcgen.Message) ([]domain.ConversationMessage, error) {
	out := make([]domain.ConversationMessage, 0, len(rows))
	for _, r := range rows {
		m, err := toMessage(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// conversationIDs is the owner's and the conversation's ids in their
// stored form; an id that is not a UUID names no conversation.
func conversationIDs(user domain.UserID, id domain.ConversationID) (string, string, bool) {
	uid, uok := parseID(user)
	cid, cok := parseID(domain.UserID(id))
	return uid, cid, uok && cok
}

// ftsMatch is the FTS5 query matching text that holds every word: each
// word quoted (a quote inside doubled), so that nothing in the user's query
// reads as FTS5 syntax. Empty when the query has no word.
func ftsMatch(query string) string {
	words := domain.SearchWords(query)
	for i, w := range words {
		words[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(words, " ")
}

// CreateConversation implements ports.ConversationStore in one statement
// (see the query). The id is a random (version 4) UUID.
func (db *DB) CreateConversation(ctx context.Context, nc domain.NewConversation, max int) (domain.Conversation, error) {
	if err := sqlval.CheckConversationText("title", nc.Title); err != nil {
		return domain.Conversation{}, err
	}
	uid, ok := parseID(nc.UserID)
	if !ok {
		return domain.Conversation{}, errUserNotFound
	}
	r, err := db.q.CreateConversation(ctx, sqlcgen.CreateConversationParams{
		ID: uuid.NewString(), UserID: uid, Title: nc.Title, CreatedAt: micros(nc.CreatedAt), MaxConversations: int64(max),
	})
	if errors.Is(err, sql.ErrNoRows) {
		// Either the owner does not exist or they are at the limit.
		if _, uerr := db.q.GetUserByID(ctx, uid); errors.Is(uerr, sql.ErrNoRows) {
			return domain.Conversation{}, errUserNotFound
		}
		return domain.Conversation{}, domain.ConversationLimitError(max)
	}
	if err != nil {
		return domain.Conversation{}, storeErr("create conversation", err)
	}
	return toConversation(convRow(r)), nil
}

// Conversations implements ports.ConversationStore; a query goes through
// the FTS5 tables.
func (db *DB) Conversations(ctx context.Context, f domain.ConversationFilter) ([]domain.Conversation, error) {
	out := []domain.Conversation{}
	uid, ok := parseID(f.UserID)
	if !ok || f.Limit <= 0 {
		return out, nil
	}
	var (
		hasCursor bool
		afterAt   int64
		afterID   string
	)
	if f.After != nil {
		if afterID, ok = parseID(domain.UserID(f.After.ID)); !ok {
			return out, nil
		}
		hasCursor, afterAt = true, micros(f.After.UpdatedAt)
	}
	var rows []convRow
	if match := ftsMatch(f.Query); match != "" {
		rs, err := db.q.SearchConversations(ctx, sqlcgen.SearchConversationsParams{
			UserID: uid, HasCursor: hasCursor, AfterUpdatedAt: afterAt, AfterID: afterID, Match: match, RowLimit: int64(f.Limit),
		})
		if err != nil {
			return nil, storeErr("search conversations", err)
		}
		for _, r := range rs {
			rows = append(rows, convRow(r))
		}
	} else {
		rs, err := db.q.ListConversations(ctx, sqlcgen.ListConversationsParams{
			UserID: uid, HasCursor: hasCursor, AfterUpdatedAt: afterAt, AfterID: afterID, RowLimit: int64(f.Limit),
		})
		if err != nil {
			return nil, storeErr("list conversations", err)
		}
		for _, r := range rs {
			rows = append(rows, convRow(r))
		}
	}
	for _, r := range rows {
		out = append(out, toConversation(r))
	}
	return out, nil
}

// CountConversations implements ports.ConversationStore.
func (db *DB) CountConversations(ctx context.Context, user domain.UserID) (int, error) {
	uid, ok := parseID(user)
	if !ok {
		return 0, nil
	}
	n, err := db.q.CountConversations(ctx, uid)
	if err != nil {
		return 0, storeErr("count conversations", err)
	}
	return int(n), nil
}

// Conversation implements ports.ConversationStore.
func (db *DB) Conversation(ctx context.Context, user domain.UserID, id domain.ConversationID) (domain.Conversation, error) {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	r, err := db.q.GetConversation(ctx, sqlcgen.GetConversationParams{ID: cid, UserID: uid})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.Conversation{}, storeErr("get conversation", err)
	}
	return toConversation(convRow(r)), nil
}

// ConversationMessages implements ports.ConversationStore: the ownership
// check and the page are two reads, so a conversation deleted between them
// reads as one without messages.
func (db *DB) ConversationMessages(ctx context.Context, user domain.UserID, id domain.ConversationID, p domain.MessagePage) ([]domain.ConversationMessage, error) {
	c, err := db.Conversation(ctx, user, id)
	if err != nil {
		return nil, err
	}
	if p.BeforeID > 0 {
		rows, err := db.q.ListMessagesBefore(ctx, sqlcgen.ListMessagesBeforeParams{
			ConversationID: string(c.ID), BeforeID: int64(p.BeforeID), RowLimit: int64(max(p.Limit, 0)),
		})
		if err != nil {
			return nil, storeErr("list messages", err)
		}
		slices.Reverse(rows)
		return toMessages(rows)
	}
	rows, err := db.q.ListMessages(ctx, sqlcgen.ListMessagesParams{
		ConversationID: string(c.ID), AfterID: int64(p.AfterID), RowLimit: int64(max(p.Limit, 0)),
	})
	if err != nil {
		return nil, storeErr("list messages", err)
	}
	return toMessages(rows)
}

// LatestMessages implements ports.ConversationStore.
func (db *DB) LatestMessages(ctx context.Context, user domain.UserID, id domain.ConversationID, limit int) ([]domain.ConversationMessage, error) {
	c, err := db.Conversation(ctx, user, id)
	if err != nil {
		return nil, err
	}
	rows, err := db.q.LatestMessages(ctx, sqlcgen.LatestMessagesParams{ConversationID: string(c.ID), RowLimit: int64(max(limit, 0))})
	if err != nil {
		return nil, storeErr("latest messages", err)
	}
	slices.Reverse(rows)
	return toMessages(rows)
}

// RenameConversation implements ports.ConversationStore.
func (db *DB) RenameConversation(ctx context.Context, user domain.UserID, id domain.ConversationID, title string) (domain.Conversation, error) {
	if err := sqlval.CheckConversationText("title", title); err != nil {
		return domain.Conversation{}, err
	}
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	r, err := db.q.RenameConversation(ctx, sqlcgen.RenameConversationParams{ID: cid, UserID: uid, Title: title})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.Conversation{}, storeErr("rename conversation", err)
	}
	return toConversation(convRow(r)), nil
}

// DeleteConversation implements ports.ConversationStore.
func (db *DB) DeleteConversation(ctx context.Context, user domain.UserID, id domain.ConversationID) error {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return domain.ErrConversationNotFound
	}
	n, err := db.q.DeleteConversation(ctx, sqlcgen.DeleteConversationParams{ID: cid, UserID: uid})
	if err != nil {
		return storeErr("delete conversation", err)
	}
	if n == 0 {
		return domain.ErrConversationNotFound
	}
	return nil
}

// AppendMessage implements ports.ConversationStore: the conversation's
// update and the insert run in one IMMEDIATE transaction.
func (db *DB) AppendMessage(ctx context.Context, nm domain.NewConversationMessage) (domain.ConversationMessage, error) {
	p, err := appendParams(nm)
	if err != nil {
		return domain.ConversationMessage{}, err
	}
	var r sqlcgen.Message
	err = db.inTx(ctx, func(q *sqlcgen.Queries) error {
		r, err = appendMessage(ctx, q, p)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ConversationMessage{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.ConversationMessage{}, storeErr("append message", err)
	}
	return toMessage(r)
}

// AppendTurn implements ports.ConversationStore: the lease is checked and
// the messages go in in one IMMEDIATE transaction, which keeps every other
// writer (another turn taking the conversation) out until it commits.
func (db *DB) AppendTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	return db.storeTurn(ctx, lease, false, msgs)
}

// ReplaceTurn implements ports.ConversationStore as AppendTurn does, with
// DeleteLastTurn between the lease check and the messages.
func (db *DB) ReplaceTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	return db.storeTurn(ctx, lease, true, msgs)
}

func (db *DB) storeTurn(ctx context.Context, lease string, replace bool, msgs []domain.NewConversationMessage) ([]domain.ConversationMessage, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	ps := make([]appendArgs, len(msgs))
	for i, nm := range msgs {
		p, err := appendParams(nm)
		if err != nil {
			return nil, err
		}
		if i > 0 && (p.touch.ID != ps[0].touch.ID || p.touch.UserID != ps[0].touch.UserID) {
			return nil, domain.ErrConversationNotFound
		}
		ps[i] = p
	}
	var rows []sqlcgen.Message
	err := db.inTx(ctx, func(q *sqlcgen.Queries) error {
		n, err := q.TurnHeld(ctx, sqlcgen.TurnHeldParams{ID: ps[0].touch.ID, UserID: ps[0].touch.UserID, Lease: &lease})
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := q.GetConversation(ctx, sqlcgen.GetConversationParams{ID: ps[0].touch.ID, UserID: ps[0].touch.UserID}); err != nil {
				return err
			}
			return domain.ErrTurnLost
		}
		if replace {
			if _, err := q.DeleteLastTurn(ctx, ps[0].touch.ID); err != nil {
				return err
			}
		}
		for _, p := range ps {
			r, err := appendMessage(ctx, q, p)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
		return nil
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, domain.ErrConversationNotFound
	case errors.Is(err, domain.ErrTurnLost):
		return nil, err
	case err != nil:
		return nil, storeErr("append turn", err)
	}
	out := make([]domain.ConversationMessage, 0, len(rows))
	for _, r := range rows {
		m, err := toMessage(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// appendArgs are the two statements of an append.
type appendArgs struct {
	touch  sqlcgen.TouchConversationParams
	insert sqlcgen.InsertMessageParams
}

func appendParams(nm domain.NewConversationMessage) (appendArgs, error) {
	m := nm.Message
	if err := sqlval.CheckConversationMessage(m); err != nil {
		return appendArgs{}, err
	}
	if err := sqlval.CheckConversationText("title", nm.TitleIfUntitled); err != nil {
		return appendArgs{}, err
	}
	uid, cid, ok := conversationIDs(nm.UserID, m.ConversationID)
	if !ok {
		return appendArgs{}, domain.ErrConversationNotFound
	}
	sources, err := sqlval.EncodeSources(m.Sources)
	if err != nil {
		return appendArgs{}, err
	}
	return appendArgs{
		touch: sqlcgen.TouchConversationParams{
			ID: cid, UserID: uid, CreatedAt: micros(m.CreatedAt), TitleIfUntitled: nm.TitleIfUntitled,
		},
		insert: sqlcgen.InsertMessageParams{
			ConversationID: cid, Role: string(m.Role), Content: m.Content, Status: string(m.Status),
			Tier: sqlval.OptText(string(m.Tier)), Provider: sqlval.OptText(string(m.Provider)),
			UpstreamModel: sqlval.OptText(m.UpstreamModel), RequestID: sqlval.OptText(m.RequestID),
			PromptTokens: int64(m.Usage.PromptTokens), CompletionTokens: int64(m.Usage.CompletionTokens),
			Sources: string(sources), CreatedAt: micros(m.CreatedAt),
		},
	}, nil
}

func appendMessage(ctx context.Context, q *sqlcgen.Queries, p appendArgs) (sqlcgen.Message, error) {
	if _, err := q.TouchConversation(ctx, p.touch); err != nil {
		return sqlcgen.Message{}, err
	}
	return q.InsertMessage(ctx, p.insert)
}

// BeginTurn implements ports.ConversationStore with one guarded update.
func (db *DB) BeginTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string, now, until time.Time) error {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return domain.ErrConversationNotFound
	}
	nowUs, untilUs := micros(now), micros(until)
	n, err := db.q.BeginTurn(ctx, sqlcgen.BeginTurnParams{ID: cid, UserID: uid, Lease: &lease, Until: &untilUs, Now: &nowUs})
	if err != nil {
		return storeErr("begin turn", err)
	}
	if n == 1 {
		return nil
	}
	if _, err := db.Conversation(ctx, user, id); err != nil {
		return err
	}
	return &domain.ConversationBusyError{ID: id}
}

// RenewTurn implements ports.ConversationStore.
func (db *DB) RenewTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string, until time.Time) (bool, error) {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return false, nil
	}
	untilUs := micros(until)
	n, err := db.q.RenewTurn(ctx, sqlcgen.RenewTurnParams{ID: cid, UserID: uid, Lease: &lease, Until: &untilUs})
	if err != nil {
		return false, storeErr("renew turn", err)
	}
	return n == 1, nil
}

// EndTurn implements ports.ConversationStore.
func (db *DB) EndTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string) error {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return nil
	}
	if err := db.q.EndTurn(ctx, sqlcgen.EndTurnParams{ID: cid, UserID: uid, Lease: &lease}); err != nil {
		return storeErr("end turn", err)
	}
	return nil
}

// PurgeIdleConversations implements ports.ConversationStore. SQLite serves
// one instance and runs one writer at a time, so no lock is needed; each
// batch is its own write, so that chats write between them.
func (db *DB) PurgeIdleConversations(ctx context.Context, before, now time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, domain.Invalid("batch", "must be positive")
	}
	var n int64
	nowUs := micros(now)
	for {
		d, err := db.q.PurgeIdleConversations(ctx, sqlcgen.PurgeIdleConversationsParams{Before: micros(before), Now: &nowUs, Batch: int64(batch)})
		n += d
		if err != nil {
			return n, storeErr("purge conversations", err)
		}
		if d < int64(batch) {
			return n, nil
		}
	}
}
