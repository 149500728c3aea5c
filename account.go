package optio

import (
	"context"
	"time"
)

// SessionInfo is one signed-in browser as its owner sees it on the account
// page. The token (and its hash) never leaves the store.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// Device is a coarse description of the browser ("Firefox on Linux").
	Device string `json:"device"`
	// Current marks the session making the request.
	Current bool `json:"current"`
}

// AccountStore is what a user manages about their own account: sessions,
// password, the link between a Spark account and a password account, and
// the age facts a student may record.
type AccountStore interface {
	// ListSessions lists userID's unexpired sessions; currentTokenHash marks
	// the caller's.
	ListSessions(ctx context.Context, userID, currentTokenHash string) ([]SessionInfo, error)
	// TouchSession records that a session was used now, from device.
	TouchSession(ctx context.Context, tokenHash, device string) error
	// DeleteUserSession ends one of userID's sessions (ENOTFOUND otherwise).
	DeleteUserSession(ctx context.Context, userID, sessionID string) error
	// DeleteOtherSessions ends every session of userID except
	// keepTokenHash's ("" ends them all) and says how many ended.
	DeleteOtherSessions(ctx context.Context, userID, keepTokenHash string) (int64, error)
	// SetPassword replaces userID's password hash and ends their other
	// sessions in one transaction.
	SetPassword(ctx context.Context, userID, passwordHash, keepTokenHash string) error
	// LinkAccounts joins the Spark account sparkUserID and the password
	// account passwordUserID (the caller proved both) into one.
	LinkAccounts(ctx context.Context, sparkUserID, passwordUserID string) (*User, error)
	// PasswordHash is userID's password hash, "" when they have none.
	PasswordHash(ctx context.Context, userID string) (string, error)
	// SparkLinked reports whether a Spark identity is linked to userID.
	SparkLinked(ctx context.Context, userID string) (bool, error)
	// RecordBirthDate records a student's birth date on behalf of source
	// (parent, admin or spark; actorID is who, "" for Spark).
	RecordBirthDate(ctx context.Context, actorID, studentID string, birth time.Time, source string) (*User, error)
}
