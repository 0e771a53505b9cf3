// Package ports declares the small interfaces the use cases call out
// through. Adapters implement them; which implementation serves is decided
// in app (the composition root). Each port, its implementations, and which
// of them run in production (P) or serve tests only (T):
//
//	Clock               adapters/clock (P); memory.Clock (T)
//	UserStore           postgres, sqlite (P); memory.Store (T)
//	QuotaStore          postgres, sqlite (P: QUOTA_COUNTING=database); redislimit.QuotaStore over postgres or sqlite (P: with REDIS_URL);
//	                    quotacount.Leases over postgres (P: without REDIS_URL); quotacount.Local over sqlite (P: without
//	                    REDIS_URL), over postgres (T); memory.Store (T)
//	APIKeyStore         postgres, sqlite (P); memory.Store (T)
//	AuditLog            postgres, sqlite (P); memory.Store (T)
//	AdminStore          postgres, sqlite (P)
//	ChangeStore         postgres, sqlite (P)
//	FeedbackStore       postgres, sqlite (P)
//	ConversationStore   postgres, sqlite (P); memory.ConversationStore (T)
//	HealthStore         postgres, sqlite (P); memory.HealthStore (T)
//	RequestLog          postgres, sqlite through internal/batchlog (P), wrapped by metrics (P); memory.RequestLog (T)
//	RequestLogFlusher   postgres, sqlite through internal/batchlog (P)
//	RateLimiter         memory.RateLimiter (P: without REDIS_URL, and the fallback while Redis is down);
//	                    redislimit (P: with REDIS_URL), behind ratelimit.Fallback (P)
//	LoginGuard          memory.LoginGuard (P, as RateLimiter); redislimit behind ratelimit.GuardFallback (P)
//	ConcurrencyLimiter  memory.ConcurrencyLimiter (P, as RateLimiter); redislimit behind ratelimit.ConcurrencyFallback (P)
//	CooldownStore       redislimit (P: with REDIS_URL; without it chat keeps cooldowns in process); memory.CooldownStore (T)
//	ResponseCache       memory.ResponseCache (P: CACHE_ENABLED without REDIS_URL); redislimit.ResponseCache (P: CACHE_ENABLED
//	                    with REDIS_URL)
//	Pinger              postgres, sqlite, ratelimit.Fallback over redislimit (P)
//	PasswordHasher      argon2id (P)
//	TokenIssuer         jwt (P)
//	Mailer              smtpmail (P, with SMTP_URL)
//	ChatProvider        openaicompat via groq, openrouter, huggingface (P); mockprovider (P: development without keys);
//	                    metrics and tracing wrap each (P)
//	ChatStream          returned by every ChatProvider above
//	ImageGenerator      huggingface.Images, openrouter.Images (P: ENABLE_IMAGE_GENERATION=true)
//	Transcriber         groq.Voice (P: ENABLE_VOICE=true)
//	SpeechSynthesizer   groq.Voice (P: ENABLE_VOICE=true)
//	ModelLister         openaicompat (P: provider health probes, genzai doctor)
//	Searcher            duckduckgo, wrapped by tracing (P)
//	DomainNames         idn (P); without one, use cases accept ASCII domains only (T)
//	AccountFeed         postgres.Listener (P: PostgreSQL; accounts on SQLite are not cached)
//	AccountNotices      accounts.Cache (P)
//
// So adapters/memory is not test-only: its rate limiter, login guard and
// concurrency limiter are the production limits of a single instance.
// The store and limiter ports have contract suites in ports/portstest that
// run over each implementation.
package ports

import (
	"context"
	"time"

	"github.com/genzai/genzai/domain"
)

// Clock tells the time; use cases take it so that day rollover is testable.
type Clock interface {
	Now() time.Time
}

// UserStore keeps accounts. Emails are stored normalised and are unique, and
// so are their keys (domain.EmailKey: the address without its "+tag").
// Methods return *domain.Error with CodeUnavailable when the store cannot be
// reached.
type UserStore interface {
	// CreateUser adds an account; CodeConflict when the email or its key
	// is taken.
	CreateUser(ctx context.Context, u domain.NewUser) (domain.User, error)
	// UserByID returns an account; CodeNotFound when there is none.
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	// UserByEmail returns the account with exactly this normalised email,
	// else the one whose email key is its key (any "+tag" spelling finds
	// it); CodeNotFound when there is none.
	UserByEmail(ctx context.Context, email string) (domain.User, error)
	// RevokeAPIKeys deletes every personal API key of the account (none is
	// not an error): resets and disabling revoke every credential, not only
	// access tokens.
	RevokeAPIKeys(ctx context.Context, id domain.UserID) error
	// RecordLogin stamps last_login_at; CodeNotFound when the account is gone.
	RecordLogin(ctx context.Context, id domain.UserID, at time.Time) (domain.User, error)
	// MarkEmailVerified stamps email_verified_at at its first call (later
	// calls keep the first time) and, when promote is true and this is that
	// first call, sets is_admin, atomically; CodeNotFound when the account
	// is gone.
	MarkEmailVerified(ctx context.Context, id domain.UserID, at time.Time, promote bool) (domain.User, error)
	// SetPassword replaces the account's password hash and revokes its
	// tokens as RevokeTokens does, in one update; CodeNotFound when the
	// account is gone.
	SetPassword(ctx context.Context, id domain.UserID, hash string, at time.Time) (domain.User, error)
	// RevokeTokens refuses every access token of the account issued at or
	// before at: it moves tokens_valid_after to at, never backwards;
	// CodeNotFound when the account is gone.
	RevokeTokens(ctx context.Context, id domain.UserID, at time.Time) error
	// DeleteUser deletes the account and everything tied to it (quota
	// counts, API keys, feedback, pending admin changes it asked for or
	// targets, conversations with their messages), at once; the request
	// log keeps its rows with the user anonymised (no user id), the audit
	// log its entries with the account's email replaced by
	// domain.DeletedAccount (the id stays), in the same write.
	// CodeNotFound when there is no such account.
	DeleteUser(ctx context.Context, id domain.UserID) error
}

// Mailer sends mail to users (verification links, password resets).
type Mailer interface {
	// Send delivers msg to the mail server; CodeUnavailable when the server
	// cannot be reached or refuses the message.
	Send(ctx context.Context, msg domain.Mail) error
}

// QuotaStore counts requests per user and UTC day. Counting is atomic in the
// store, so that no interleaving of callers (in one process or many) lets a
// user past the limit. An implementation that counts in front of the
// database (Redis, in process, or from leases of the database) writes its
// counts behind: QuotaUsed answers from the counter (from leases: the
// written count and this instance's grants), and the database has them
// within the write interval.
type QuotaStore interface {
	// ConsumeQuota adds one to the user's count for day if the count is below
	// limit and returns the new count and true; at or past the limit it
	// changes nothing and returns the current count and false. limit > 0.
	ConsumeQuota(ctx context.Context, id domain.UserID, day time.Time, limit int) (used int, granted bool, err error)
	// RefundQuota takes one back from the user's count for day, never below zero.
	RefundQuota(ctx context.Context, id domain.UserID, day time.Time) error
	// QuotaUsed returns the user's count for day (0 when nothing was counted).
	QuotaUsed(ctx context.Context, id domain.UserID, day time.Time) (int, error)
}

// PasswordHasher turns passwords into self-describing hashes and checks them.
type PasswordHasher interface {
	// Hash returns an encoded hash with its parameters and salt.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded; an error means the
	// hash could not be checked (malformed, or ctx ended).
	Verify(ctx context.Context, password, encoded string) (bool, error)
}

// TokenIssuer signs and checks access tokens.
type TokenIssuer interface {
	// Issue signs claims into a token.
	Issue(claims domain.TokenClaims) (string, error)
	// Verify checks a token's algorithm, signature, issuer and expiry;
	// CodeTokenExpired for an expired token, CodeUnauthorized otherwise.
	Verify(token string) (domain.TokenClaims, error)
}

// DomainNames spells an internationalised domain name the one way
// resolvers and mail servers do: IDNA2008 with the UTS #46 mapping (case,
// width, compatibility forms), as ASCII (punycode). It is a port because
// those Unicode tables live outside the standard library.
type DomainNames interface {
	// ToASCII returns the ASCII form of name; an error when no resolver
	// could look the name up.
	ToASCII(name string) (string, error)
}

// Pinger checks that a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ChatProvider is one upstream AI provider reached with one of its API keys.
// Keys are addressed by index (0..KeyCount()-1) so that they never need to
// leave the adapter. Every error is a *domain.ProviderError.
type ChatProvider interface {
	// Name identifies the provider.
	Name() domain.Provider
	// KeyCount is how many API keys are configured.
	KeyCount() int
	// StreamChat starts a completion with key index key. Cancelling ctx
	// aborts the upstream request at once. With req.Delivery
	// domain.DeliveryWhole the upstream is asked for the whole answer at
	// once (StreamChat may return only once it has read it); the stream
	// yields it all the same, in one delta or a few, and io.EOF.
	StreamChat(ctx context.Context, key int, req domain.CompletionRequest) (ChatStream, error)
}

// ImageGenerator is a provider's image generation, reached with the same
// API keys as its ChatProvider (same indexes, same count). Every error is a
// *domain.ProviderError.
type ImageGenerator interface {
	// Name identifies the provider.
	Name() domain.Provider
	// GenerateImages asks for req.N pictures of req.Model with key index
	// key. Cancelling ctx aborts the upstream request. The images it
	// returns carry the media type the provider claimed ("" when it named
	// none); the router checks the bytes against it (domain.CheckImage).
	GenerateImages(ctx context.Context, key int, req domain.ImageRequest) ([]domain.Image, error)
}

// Transcriber is a provider's speech to text, reached with the same API
// keys as its ChatProvider (same indexes, same count). Every error is a
// *domain.ProviderError.
type Transcriber interface {
	// Name identifies the provider.
	Name() domain.Provider
	// Transcribe asks req.Model with key index key what req.Audio says.
	// Cancelling ctx aborts the upstream request.
	Transcribe(ctx context.Context, key int, req domain.TranscriptionRequest) (domain.Transcription, error)
}

// SpeechSynthesizer is a provider's text to speech, reached with the same
// API keys as its ChatProvider (same indexes, same count). Every error is a
// *domain.ProviderError.
type SpeechSynthesizer interface {
	// Name identifies the provider.
	Name() domain.Provider
	// Speak asks req.Model with key index key to read req.Input aloud in
	// req.Voice. Cancelling ctx aborts the upstream request. The audio it
	// returns carries the media type the provider claimed; the router
	// checks the bytes against the format asked for (domain.CheckAudio).
	Speak(ctx context.Context, key int, req domain.SpeechRequest) (domain.Audio, error)
}

// ChatStream yields the deltas of one completion, streamed or whole.
type ChatStream interface {
	// Recv returns the next delta; io.EOF after the last one. A stream that
	// ends without the upstream's end marker is a *domain.ProviderError with
	// Reason "cut_off", not io.EOF.
	Recv() (domain.ChatDelta, error)
	// Close releases the connection; safe to call more than once.
	Close() error
}

// ResponseCache keeps complete chat answers under a key the chat use case
// derives from everything that shapes an answer (see domain/chat). The
// in-process store bounds itself by bytes (least recently used first); the
// Redis store is shared by every instance.
type ResponseCache interface {
	// Get returns the answer stored under key; false on a miss or when it
	// expired. An error means the store could not answer: the request is
	// served by the providers (a bypass), never failed.
	Get(ctx context.Context, key string) (domain.CachedAnswer, bool, error)
	// Put stores a under key for ttl, replacing what was there.
	Put(ctx context.Context, key string, a domain.CachedAnswer, ttl time.Duration) error
}

// RequestLog records chat requests off the request path.
type RequestLog interface {
	// Record queues one record; it does not wait for the write.
	Record(r domain.RequestRecord)
}

// ModelLister is a provider that can list its models: a health probe that
// costs no tokens. Every error is a *domain.ProviderError.
type ModelLister interface {
	Name() domain.Provider
	KeyCount() int
	ListModels(ctx context.Context, key int) ([]string, error)
}

// HealthStore keeps provider health checks and decides, across every
// instance sharing it, who probes when.
type HealthStore interface {
	// ClaimProbe reports whether this caller should probe provider now: it
	// succeeds for exactly one caller per interval (the first to ask once
	// the previous probe's interval has passed), and moves the next due
	// time to now+interval.
	ClaimProbe(ctx context.Context, provider domain.Provider, now time.Time, interval time.Duration) (bool, error)
	// RecordCheck stores one check.
	RecordCheck(ctx context.Context, c domain.ProviderCheck) error
	// RecentChecks returns the provider's latest checks, newest first.
	RecentChecks(ctx context.Context, provider domain.Provider, limit int) ([]domain.ProviderCheck, error)
	// Uptime counts the provider's checks since a time.
	Uptime(ctx context.Context, provider domain.Provider, since time.Time) (domain.Uptime, error)
	// Traffic counts the provider's chat outcomes since a time, from the
	// request log: answers it started, and failed attempts of the reasons given.
	Traffic(ctx context.Context, provider domain.Provider, since time.Time, failureReasons []domain.AttemptReason) (domain.TrafficStats, error)
	// PruneChecks deletes checks older than before and returns how many.
	PruneChecks(ctx context.Context, before time.Time) (int64, error)
}

// RateLimiter admits requests under a rate per key (a client IP, a route
// class). Implementations are exact under concurrency: no interleaving of
// callers admits more than the rate allows. In production: memory (one
// instance) or redislimit (shared), the latter behind ratelimit.Fallback.
type RateLimiter interface {
	// Allow counts one request for key if the rate admits it. An error
	// means the limiter could not decide (its store is unreachable).
	Allow(ctx context.Context, key string, rate domain.Rate) (domain.RateDecision, error)
}

// ConcurrencyLimiter bounds how many leases on a key (such as one user's
// requests in flight) are held at once. Implementations are exact under
// concurrency, across every instance sharing one: no interleaving of
// callers holds more than limit unexpired leases on a key. A lease expires
// ttl after it was taken or last renewed, so that the slots of an instance
// that crashed come back by themselves. In production: memory (one
// instance, and the fallback) or redislimit (shared).
type ConcurrencyLimiter interface {
	// Acquire takes a lease on key when fewer than limit unexpired leases
	// are held, and returns its id and true; otherwise it changes nothing
	// and returns false. limit > 0, ttl > 0. An error means the limiter
	// could not decide (its store is unreachable).
	Acquire(ctx context.Context, key string, limit int, ttl time.Duration) (lease string, ok bool, err error)
	// Renew moves a held lease's expiry to ttl from now; false when the
	// lease is no longer held (it expired or was released).
	Renew(ctx context.Context, key, lease string, ttl time.Duration) (bool, error)
	// Release gives a lease back; releasing a lease not held does nothing.
	Release(ctx context.Context, key, lease string) error
}

// CooldownStore shares "do not use before" times between instances, such as
// provider keys cooling down after a 429. A cooldown only ever grows: a
// shorter one never replaces a longer one. In production: redislimit, only
// with REDIS_URL; memory implements it for tests.
type CooldownStore interface {
	// Extend sets name's cooldown to until unless it already ends later.
	Extend(ctx context.Context, name string, until time.Time) error
	// Until returns each name's cooldown end, the zero time when there is
	// none (or it has passed). It only reads names: callers pass the same
	// slice on every call.
	Until(ctx context.Context, names []string) ([]time.Time, error)
}

// LoginGuard counts password attempts per account (domain.LoginBackoff
// describes the rule), so that guesses spread over many addresses still
// meet a limit. Implementations are exact under concurrency, and across
// instances when shared: no interleaving of attempts escapes a lock. In
// production: memory (one instance, and the fallback) or redislimit
// (shared).
type LoginGuard interface {
	// Attempt counts one password attempt on key unless key is locked;
	// then it is refused with the time the lock has left. A rule that is
	// not Enabled allows everything without counting. Errors:
	// CodeUnavailable (the store did not answer).
	Attempt(ctx context.Context, key string, rule domain.LoginBackoff) (domain.LoginAttempt, error)
	// Reset forgets key's count and lock, after a successful login.
	// Errors: CodeUnavailable.
	Reset(ctx context.Context, key string) error
}

// Searcher searches the web.
type Searcher interface {
	// Search returns at most max results for query, best first; an empty
	// list (not an error) when there are none. Errors:
	// *domain.SearchUnavailableError when the search engine cannot answer,
	// with the reason (unreachable, blocked, timed out, unreadable answer).
	Search(ctx context.Context, query string, max int) ([]domain.SearchResult, error)
}

// AdminStore is what administrators read and change: accounts, the request
// log and analytics over it. Methods return *domain.Error with
// CodeUnavailable when the store cannot be reached.
type AdminStore interface {
	// ListUsers returns up to f.Limit accounts ordered by email, after
	// f.AfterEmail, each with its quota count for day.
	ListUsers(ctx context.Context, f domain.UserFilter, day time.Time) ([]domain.UserUsage, error)
	// UpdateUser applies a patch and returns the account; CodeNotFound when
	// there is none.
	UpdateUser(ctx context.Context, id domain.UserID, p domain.UserPatch) (domain.User, error)
	// ListRequests returns up to f.Limit request log rows, newest first
	// (by created_at, then id).
	ListRequests(ctx context.Context, f domain.RequestFilter) ([]domain.LoggedRequest, error)
	// Analytics computes the period's figures from the request log, quota
	// counts and feedback.
	Analytics(ctx context.Context, q domain.AnalyticsQuery) (domain.Analytics, error)
}

// APIKeyStore keeps personal API keys by the SHA-256 of the key.
type APIKeyStore interface {
	// CreateAPIKey adds a key unless its owner already has max keys
	// (CodeConflict then); concurrent creations for one user are counted in
	// turn, so the bound holds. CodeNotFound when the owner does not exist.
	CreateAPIKey(ctx context.Context, k domain.NewAPIKey, max int) (domain.APIKey, error)
	// APIKeys lists a user's keys, oldest first.
	APIKeys(ctx context.Context, user domain.UserID) ([]domain.APIKey, error)
	// DeleteAPIKey revokes one of the user's keys; CodeNotFound when the
	// user has no key with that id.
	DeleteAPIKey(ctx context.Context, user domain.UserID, id domain.APIKeyID) error
	// APIKeyOwner returns the key with that hash and its owner;
	// CodeNotFound when no key has it.
	APIKeyOwner(ctx context.Context, hash []byte) (domain.APIKey, domain.User, error)
	// TouchAPIKey sets the key's last use to at unless it is already later.
	TouchAPIKey(ctx context.Context, id domain.APIKeyID, at time.Time) error
}

// AuditLog keeps the audit log of administrative changes. Entries are
// only ever appended. Methods return *domain.Error with CodeUnavailable
// when the store cannot be reached.
type AuditLog interface {
	// RecordAudit appends e (the store assigns its ID; nil Details are
	// stored as an empty object) and returns it as stored.
	RecordAudit(ctx context.Context, e domain.AuditEntry) (domain.AuditEntry, error)
	// AuditEntries returns up to f.Limit entries below f.BeforeID (all
	// when 0), newest first: ids grow with every entry.
	AuditEntries(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error)
}

// ChangeStore keeps account changes that wait for a second admin, in the
// database, so that any instance can confirm them.
type ChangeStore interface {
	// CreatePendingChange stores c (the store assigns its ID) and returns it
	// with the target's and requester's emails; CodeNotFound when either
	// account does not exist.
	CreatePendingChange(ctx context.Context, c domain.PendingChange) (domain.PendingChange, error)
	// PendingChange returns a change, confirmed or not; CodeNotFound when
	// there is none.
	PendingChange(ctx context.Context, id domain.PendingChangeID) (domain.PendingChange, error)
	// ConfirmPendingChange marks the change confirmed by confirmer at at
	// and applies its patch to the target, in one transaction, and returns
	// both as they are then. CodeConflict, changing nothing, when the
	// change is already confirmed, has expired by at, or confirmer asked
	// for it; CodeNotFound when there is no such change. Of concurrent
	// confirmations exactly one succeeds.
	ConfirmPendingChange(ctx context.Context, id domain.PendingChangeID, confirmer domain.UserID, at time.Time) (domain.PendingChange, domain.User, error)
}

// FeedbackStore keeps users' ratings of their chat answers.
type FeedbackStore interface {
	// SaveFeedback stores f, replacing the user's earlier rating of the same
	// request (CreatedAt stays, UpdatedAt moves), and returns what is stored.
	// CodeNotFound when the request log holds no answered request (a
	// provider answered: OutcomeSuccess or OutcomeInterrupted) with that id
	// for that user.
	SaveFeedback(ctx context.Context, f domain.Feedback) (domain.Feedback, error)
	// UserFeedback returns every rating user gave, oldest first (by
	// CreatedAt, then RequestID); empty for an unknown user.
	UserFeedback(ctx context.Context, user domain.UserID) ([]domain.Feedback, error)
}

// AccountNotices hears of changes to accounts: an account's row (disabled,
// admin, quota, password, tokens, verification) or one of its API keys.
type AccountNotices interface {
	// AccountChanged says that the account id or one of its keys changed;
	// id is empty when any account may have changed (an operator changed
	// accounts by hand and said so).
	AccountChanged(id domain.UserID)
	// NoticesLive says whether notices flow (true) or may be lost (false).
	// Every turn to true means notices may have been missed before it.
	NoticesLive(live bool)
}

// AccountFeed delivers, to every instance sharing a database, a notice of
// each committed change to an account that a store made, whichever
// instance or process made it. A notice goes out on commit, so that a
// reader told of it reads the change.
type AccountFeed interface {
	// Subscribe sends notices to n, from now until the feed closes; one
	// subscriber per feed. It calls n.NoticesLive(true) once it listens.
	Subscribe(n AccountNotices)
	// Sync returns once every change committed before the call has been
	// delivered to the subscriber; CodeUnavailable when the feed cannot
	// listen before ctx ends.
	Sync(ctx context.Context) error
}

// RequestLogFlusher is a RequestLog that can write what it has queued now.
type RequestLogFlusher interface {
	// Queued reports whether a record of requestID waits in this
	// instance's queue, so that a reader knows without a query whether a
	// Flush could make it readable.
	Queued(requestID string) bool
	// Flush writes every record queued before the call.
	Flush(ctx context.Context) error
}

// ConversationStore keeps users' conversations and their messages. Every
// method that names a conversation takes its owner too: a conversation of
// another user answers domain.ErrConversationNotFound (CodeNotFound),
// exactly as a missing one, and is never changed. Methods return
// *domain.Error with CodeUnavailable when the store cannot be reached.
type ConversationStore interface {
	// CreateConversation adds a conversation (the store assigns its ID;
	// UpdatedAt is CreatedAt) unless its owner already has max
	// (domain.ConversationLimitError, CodeConflict); concurrent creations
	// for one user are counted in turn, so the bound holds. CodeNotFound
	// when the owner does not exist.
	CreateConversation(ctx context.Context, c domain.NewConversation, max int) (domain.Conversation, error)
	// Conversations returns up to f.Limit of f.UserID's conversations, by
	// UpdatedAt then ID, both descending, after f.After, matching f.Query.
	Conversations(ctx context.Context, f domain.ConversationFilter) ([]domain.Conversation, error)
	// CountConversations returns how many conversations the user has.
	CountConversations(ctx context.Context, user domain.UserID) (int, error)
	// Conversation returns one of the user's conversations.
	Conversation(ctx context.Context, user domain.UserID, id domain.ConversationID) (domain.Conversation, error)
	// ConversationMessages returns up to p.Limit of the conversation's
	// messages after p.AfterID or, with p.BeforeID, the last p.Limit before
	// it; oldest first either way.
	ConversationMessages(ctx context.Context, user domain.UserID, id domain.ConversationID, p domain.MessagePage) ([]domain.ConversationMessage, error)
	// LatestMessages returns the conversation's last limit messages, oldest
	// first: the history a new turn is built from.
	LatestMessages(ctx context.Context, user domain.UserID, id domain.ConversationID, limit int) ([]domain.ConversationMessage, error)
	// RenameConversation sets the title (UpdatedAt stays) and returns the
	// conversation.
	RenameConversation(ctx context.Context, user domain.UserID, id domain.ConversationID, title string) (domain.Conversation, error)
	// DeleteConversation deletes the conversation and its messages.
	DeleteConversation(ctx context.Context, user domain.UserID, id domain.ConversationID) error
	// AppendMessage stores m.Message (the store assigns its ID) in m.UserID's
	// conversation, moves the conversation's UpdatedAt to the message's
	// CreatedAt unless it is already later, and sets m.TitleIfUntitled as
	// the title when the conversation has none, in one write; it returns
	// the message as stored.
	AppendMessage(ctx context.Context, m domain.NewConversationMessage) (domain.ConversationMessage, error)
	// AppendTurn stores a turn's messages (each as AppendMessage would, in
	// order, every one in the same user's conversation) in one
	// transaction, only while lease is the conversation's turn lease:
	// all of them or none. domain.ErrTurnLost when the lease is not held,
	// domain.ErrConversationNotFound when the conversation is not the
	// user's.
	AppendTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error)
	// ReplaceTurn is AppendTurn for a regenerated turn: in the same
	// transaction it first deletes the conversation's last user message
	// and every message after it (nothing when it has no user message),
	// so that msgs take the last turn's place. Same errors as AppendTurn.
	ReplaceTurn(ctx context.Context, lease string, msgs ...domain.NewConversationMessage) ([]domain.ConversationMessage, error)
	// BeginTurn marks a turn in progress in the conversation under lease
	// until until, unless another lease is held and unexpired at now
	// (*domain.ConversationBusyError then). Of concurrent callers, on any
	// instance, exactly one gets the turn.
	BeginTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string, now, until time.Time) error
	// RenewTurn moves a held lease's expiry to until; false when the
	// lease is no longer held (it was ended, or expired and was taken).
	RenewTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string, until time.Time) (bool, error)
	// EndTurn releases the lease; ending a lease not held (or a conversation
	// gone) does nothing.
	EndTurn(ctx context.Context, user domain.UserID, id domain.ConversationID, lease string) error
	// PurgeIdleConversations deletes every conversation whose UpdatedAt is
	// before before, with its messages, except those whose turn lease is
	// unexpired at now, and returns how many. It deletes batch
	// conversations per write, so that no write holds the store long. One
	// purge runs at a time across every instance sharing the store: a call
	// that finds another in progress deletes nothing and returns 0.
	PurgeIdleConversations(ctx context.Context, before, now time.Time, batch int) (int64, error)
}
