package domain

import "time"

// AuditAction names what an audit log entry records.
type AuditAction string

// The audited actions: every change to an account's rights or limits, and
// the creation of admin-scoped keys.
const (
	AuditQuotaChanged    AuditAction = "quota_changed"
	AuditAdminGranted    AuditAction = "admin_granted"
	AuditAdminRevoked    AuditAction = "admin_revoked"
	AuditUserDisabled    AuditAction = "user_disabled"
	AuditUserEnabled     AuditAction = "user_enabled"
	AuditChangeRequested AuditAction = "change_requested"
	AuditChangeConfirmed AuditAction = "change_confirmed"
	AuditAdminKeyCreated AuditAction = "admin_key_created"
)

// OperatorActor is the actor of changes made with the operator's CLI,
// which acts on the database directly and has no account.
const OperatorActor = "operator"

// DeletedAccount stands for the email of an account deleted since: its
// audit entries stay, with the account's id but not its address.
const DeletedAccount = "deleted account"

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID int64
	// ActorID is the account that acted; "" for the operator.
	ActorID UserID
	// Actor is the actor's email when it acted, or OperatorActor.
	Actor  string
	Action AuditAction
	// TargetID is the account acted on ("" when none); Target its email then.
	TargetID UserID
	Target   string
	// Details say what changed (field: new value), never nil once stored.
	Details map[string]any
	// RequestID is the HTTP request the change came with; "" from the CLI.
	RequestID string
	CreatedAt time.Time
}

// AuditFilter selects a page of the audit log, newest first.
type AuditFilter struct {
	// BeforeID starts the page below this id (0: from the newest).
	BeforeID int64
	// Limit is the page size (> 0).
	Limit int
}

// PendingChangeID identifies a pending change; it is a UUID in text form.
type PendingChangeID string

// PendingChange is an account change one admin asked for that waits for a
// different admin's confirmation: disabling or demoting another admin.
type PendingChange struct {
	ID               PendingChangeID
	TargetID         UserID
	TargetEmail      string
	RequestedBy      UserID
	RequestedByEmail string
	Patch            UserPatch
	RequestID        string
	CreatedAt        time.Time
	ExpiresAt        time.Time
	// ConfirmedBy is "" (and ConfirmedAt nil) until a second admin confirms.
	ConfirmedBy      UserID
	ConfirmedByEmail string
	ConfirmedAt      *time.Time
}
