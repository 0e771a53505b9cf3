package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/genzai/genzai/adapters/internal/sqlval"
	"github.com/genzai/genzai/adapters/postgres/internal/sqlcgen"
	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.ConversationStore = (*DB)(nil)

func toConversation(id, user uuid.UUID, title string, created, updated time.Time) domain.Conversation {
	return domain.Conversation{
		ID: domain.ConversationID(id.String()), UserID: domain.UserID(user.String()), Title: title,
		CreatedAt: created.UTC(), UpdatedAt: updated.UTC(),
	}
}

// messageRow is a stored message as every query of one reads it (their
// row types convert to it).
type messageRow struct {
	ID               int64
	ConversationID   uuid.UUID
	Role             string
	Content          string
	Status           string
	Tier             *string
	Provider         *string
	UpstreamModel    *string
	RequestID        *string
	PromptTokens     int32
	CompletionTokens int32
	Sources          []byte
	CreatedAt        time.Time
}

// toMessages maps the rows of one of the queries that read a page of
// messages, in their order.
func toMessages[R sqlcgen.ListMessagesRow | sqlcgen.ListMessagesBeforeRow | sqlcgen.LatestMessagesRow](rows []R) ([]domain.ConversationMessage, error) {
	out := make([]domain.ConversationMessage, 0, len(rows))
	for _, r := range rows {
		m, err := toMessage(messageRow(r))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func toMessage(r messageRow) (domain.ConversationMessage, error) {
	sources, err := sqlval.DecodeSources(r.Sources)
	if err != nil {
		return domain.ConversationMessage{}, err
	}
	return domain.ConversationMessage{
		ID: domain.MessageID(r.ID), ConversationID: domain.ConversationID(r.ConversationID.String()),
		Role: domain.MessageRole(r.Role), Content: r.Content, Status: domain.MessageStatus(r.Status),
		Tier: domain.Tier(sqlval.Deref(r.Tier)), Provider: domain.Provider(sqlval.Deref(r.Provider)),
		UpstreamModel: sqlval.Deref(r.UpstreamModel), RequestID: sqlval.Deref(r.RequestID),
		Usage:   domain.Usage{PromptTokens: int(r.PromptTokens), CompletionTokens: int(r.CompletionTokens)},
		Sources: sources, CreatedAt: r.CreatedAt.UTC(),
	}, nil
}

// conversationIDs parses the owner's and the conversation's ids; an id
// that is not a UUID names no conversation.
func conversationIDs(user domain.UserID, id domain.ConversationID) (uuid.UUID, uuid.UUID, bool) {
	uid, uok := parseID(user)
	cid, cok := parseID(domain.UserID(id))
	return uid, cid, uok && cok
}

// CreateConversation implements ports.ConversationStore. The owner's row is
// locked for the transaction, so creations for one user count in turn.
func (db *DB) CreateConversation(ctx context.Context, nc domain.NewConversation, max int) (domain.Conversation, error) {
	if err := sqlval.CheckConversationText("title", nc.Title); err != nil {
		return domain.Conversation{}, err
	}
	uid, ok := parseID(nc.UserID)
	if !ok {
		return domain.Conversation{}, errUserNotFound
	}
	var out domain.Conversation
	err := pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		if _, err := q.LockUserForConversations(ctx, uid); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errUserNotFound
			}
			return fmt.Errorf("lock user: %w", err)
		}
		r, err := q.CreateConversation(ctx, sqlcgen.CreateConversationParams{
			UserID: uid, Title: nc.Title, CreatedAt: nc.CreatedAt.UTC(), MaxConversations: sqlval.ClampInt32(int64(max)),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.ConversationLimitError(max)
		}
		if err != nil {
			return err
		}
		out = toConversation(r.ID, r.UserID, r.Title, r.CreatedAt, r.UpdatedAt)
		return nil
	})
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeInternal {
			return domain.Conversation{}, storeErr("create conversation", err)
		}
		return domain.Conversation{}, err
	}
	return out, nil
}

// Conversations implements ports.ConversationStore.
func (db *DB) Conversations(ctx context.Context, f domain.ConversationFilter) ([]domain.Conversation, error) {
	out := []domain.Conversation{}
	uid, ok := parseID(f.UserID)
	if !ok || f.Limit <= 0 {
		return out, nil
	}
	arg := sqlcgen.ListConversationsParams{
		UserID: uid, Query: strings.Join(domain.SearchWords(f.Query), " "), RowLimit: sqlval.ClampInt32(int64(f.Limit)),
	}
	if f.After != nil {
		after, ok := parseID(domain.UserID(f.After.ID))
		if !ok {
			return out, nil
		}
		arg.HasCursor, arg.AfterUpdatedAt, arg.AfterID = true, f.After.UpdatedAt.UTC(), after
	}
	rows, err := db.q.ListConversations(ctx, arg)
	if err != nil {
		return nil, storeErr("list conversations", err)
	}
	for _, r := range rows {
		out = append(out, toConversation(r.ID, r.UserID, r.Title, r.CreatedAt, r.UpdatedAt))
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
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.Conversation{}, storeErr("get conversation", err)
	}
	return toConversation(r.ID, r.UserID, r.Title, r.CreatedAt, r.UpdatedAt), nil
}

// ConversationMessages implements ports.ConversationStore: the ownership
// check and the page are two reads, so a conversation deleted between them
// reads as one without messages.
func (db *DB) ConversationMessages(ctx context.Context, user domain.UserID, id domain.ConversationID, p domain.MessagePage) ([]domain.ConversationMessage, error) {
	c, err := db.Conversation(ctx, user, id)
	if err != nil {
		return nil, err
	}
	cid, _ := parseID(domain.UserID(c.ID))
	if p.BeforeID > 0 {
		rows, err := db.q.ListMessagesBefore(ctx, sqlcgen.ListMessagesBeforeParams{
			ConversationID: cid, BeforeID: int64(p.BeforeID), RowLimit: sqlval.ClampInt32(int64(p.Limit)),
		})
		if err != nil {
			return nil, storeErr("list messages", err)
		}
		slices.Reverse(rows)
		return toMessages(rows)
	}
	rows, err := db.q.ListMessages(ctx, sqlcgen.ListMessagesParams{
		ConversationID: cid, AfterID: int64(p.AfterID), RowLimit: sqlval.ClampInt32(int64(p.Limit)),
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
	cid, _ := parseID(domain.UserID(c.ID))
	rows, err := db.q.LatestMessages(ctx, sqlcgen.LatestMessagesParams{ConversationID: cid, RowLimit: sqlval.ClampInt32(int64(limit))})
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
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Conversation{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.Conversation{}, storeErr("rename conversation", err)
	}
	return toConversation(r.ID, r.UserID, r.Title, r.CreatedAt, r.UpdatedAt), nil
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

// AppendMessage implements ports.ConversationStore in one statement.
func (db *DB) AppendMessage(ctx context.Context, nm domain.NewConversationMessage) (domain.ConversationMessage, error) {
	p, err := appendParams(nm)
	if err != nil {
		return domain.ConversationMessage{}, err
	}
	return appendMessage(ctx, db.q, p)
}

// AppendTurn implements ports.ConversationStore: HoldTurn checks the
// lease and locks the conversation, then the messages go in, in one
// transaction.
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
	ps := make([]sqlcgen.AppendMessageParams, len(msgs))
	for i, nm := range msgs {
		p, err := appendParams(nm)
		if err != nil {
			return nil, err
		}
		if i > 0 && (p.ConversationID != ps[0].ConversationID || p.UserID != ps[0].UserID) {
			return nil, domain.ErrConversationNotFound
		}
		ps[i] = p
	}
	var out []domain.ConversationMessage
	err := pgx.BeginFunc(ctx, db.conns, func(tx pgx.Tx) error {
		q := db.q.WithTx(tx)
		_, err := q.HoldTurn(ctx, sqlcgen.HoldTurnParams{ID: ps[0].ConversationID, UserID: ps[0].UserID, Lease: lease})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := q.GetConversation(ctx, sqlcgen.GetConversationParams{ID: ps[0].ConversationID, UserID: ps[0].UserID}); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return domain.ErrConversationNotFound
				}
				return err
			}
			return domain.ErrTurnLost
		}
		if err != nil {
			return err
		}
		if replace {
			if _, err := q.DeleteLastTurn(ctx, ps[0].ConversationID); err != nil {
				return err
			}
		}
		out = make([]domain.ConversationMessage, 0, len(ps))
		for _, p := range ps {
			m, err := appendMessage(ctx, q, p)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeInternal {
			return nil, storeErr("append turn", err)
		}
		return nil, err
	}
	return out, nil
}

func appendParams(nm domain.NewConversationMessage) (sqlcgen.AppendMessageParams, error) {
	m := nm.Message
	if err := checkMessage(nm); err != nil {
		return sqlcgen.AppendMessageParams{}, err
	}
	uid, cid, ok := conversationIDs(nm.UserID, m.ConversationID)
	if !ok {
		return sqlcgen.AppendMessageParams{}, domain.ErrConversationNotFound
	}
	sources, err := sqlval.EncodeSources(m.Sources)
	if err != nil {
		return sqlcgen.AppendMessageParams{}, err
	}
	return sqlcgen.AppendMessageParams{
		ConversationID: cid, UserID: uid, TitleIfUntitled: nm.TitleIfUntitled,
		Role: string(m.Role), Content: m.Content, Status: string(m.Status),
		Tier: sqlval.OptText(string(m.Tier)), Provider: sqlval.OptText(string(m.Provider)),
		UpstreamModel: sqlval.OptText(m.UpstreamModel), RequestID: sqlval.OptText(m.RequestID),
		PromptTokens: sqlval.ClampInt32(int64(m.Usage.PromptTokens)), CompletionTokens: sqlval.ClampInt32(int64(m.Usage.CompletionTokens)),
		Sources: sources, CreatedAt: m.CreatedAt.UTC(),
	}, nil
}

func appendMessage(ctx context.Context, q *sqlcgen.Queries, p sqlcgen.AppendMessageParams) (domain.ConversationMessage, error) {
	r, err := q.AppendMessage(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.ConversationMessage{}, domain.ErrConversationNotFound
	}
	if err != nil {
		return domain.ConversationMessage{}, storeErr("append message", err)
	}
	return toMessage(messageRow(r))
}

// checkMessage refuses what the messages table or PostgreSQL would.
func checkMessage(nm domain.NewConversationMessage) error {
	if err := sqlval.CheckConversationMessage(nm.Message); err != nil {
		return err
	}
	return sqlval.CheckConversationText("title", nm.TitleIfUntitled)
}

// BeginTurn implements ports.ConversationStore with one guarded update.
func (db *DB) BeginTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string, now, until time.Time) error {
	uid, cid, ok := conversationIDs(user, id)
	if !ok {
		return domain.ErrConversationNotFound
	}
	now, until = now.UTC(), until.UTC()
	n, err := db.q.BeginTurn(ctx, sqlcgen.BeginTurnParams{ID: cid, UserID: uid, Lease: &lease, Until: &until, Now: &now})
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
	until = until.UTC()
	n, err := db.q.RenewTurn(ctx, sqlcgen.RenewTurnParams{ID: cid, UserID: uid, Lease: &lease, Until: &until})
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

// PurgeIdleConversations implements ports.ConversationStore: one
// connection holds the purge's session advisory lock while the batches
// run, each its own short transaction; an instance that finds the lock
// taken returns 0 at once.
func (db *DB) PurgeIdleConversations(ctx context.Context, before, now time.Time, batch int) (n int64, err error) {
	if batch <= 0 {
		return 0, domain.Invalid("batch", "must be positive")
	}
	conn, err := db.conns.acquire(ctx)
	if err != nil {
		return 0, storeErr("purge conversations", err)
	}
	q := sqlcgen.New(conn)
	locked, err := q.TryPurgeLock(ctx)
	if err != nil || !locked {
		db.conns.release(conn)
		if err != nil {
			return 0, storeErr("purge conversations", err)
		}
		return 0, nil
	}
	defer func() {
		if _, uerr := q.PurgeUnlock(context.WithoutCancel(ctx)); uerr != nil {
			// A connection that may still hold the lock must not go back
			// to the pool: closing it releases the lock.
			_ = conn.Hijack().Close(context.WithoutCancel(ctx))
			return
		}
		db.conns.release(conn)
	}()
	before, now = before.UTC(), now.UTC()
	for {
		d, err := q.PurgeIdleConversations(ctx, sqlcgen.PurgeIdleConversationsParams{
			Before: before, Now: &now, Batch: sqlval.ClampInt32(int64(batch)),
		})
		n += d
		if err != nil {
			return n, storeErr("purge conversations", err)
		}
		if d < int64(batch) {
			return n, nil
		}
	}
}
