package optio

import (
	"context"
	"time"
)

// SSOLogin is what a verified Spark SSO token asks of the store: accept the
// nonce once, resolve the user, apply the role rule, enrol and link — all in
// one transaction, so a refused or failed login leaves nothing behind.
type SSOLogin struct {
	// Identity is sub, email, names and role from the token.
	Identity SparkIdentity
	// Nonce is accepted once across every process sharing the database and
	// kept until NonceExpiry, after which the token is expired anyway.
	Nonce       string
	NonceExpiry time.Time
	// AllowAdmin is SPARK_SSO_ALLOW_ADMIN: whether a token may sign in, or
	// promote an account to, an admin.
	AllowAdmin bool
	// SparkCourseIDs enrol a student in those courses and their mapped quests.
	SparkCourseIDs []string
	// SparkStudentIDs link a parent to those Spark students.
	SparkStudentIDs []string
	// BirthDate and PublishConsent, when set (SPARK_TRUST_CONSENT=true and
	// the token carried them), are recorded for a student with source
	// "spark", unless a parent or an administrator recorded the birth date,
	// or a parent recorded the consent: their decision wins.
	BirthDate      *time.Time
	PublishConsent *bool
	// SessionTokenHash, when set, opens a session for the user in the same
	// transaction (one commit per login), expiring after SessionTTL.
	SessionTokenHash string
	SessionTTL       time.Duration
	// SessionDevice is a coarse description of the browser, shown in the
	// user's list of sessions.
	SessionDevice string
}

// SSOResult is what an SSO login did.
type SSOResult struct {
	User *User
	// Created is true when this login created the account.
	Created bool
	// LinkedChildren are the ids of students newly linked to a parent.
	LinkedChildren []string
	// QuestsEnrolled counts quests the student was newly enrolled in.
	QuestsEnrolled int
}

// SSOStore carries out Spark SSO logins and the course enrolment they leave
// pending.
type SSOStore interface {
	// SparkSSOLogin performs in in one transaction; a used nonce answers
	// ETokenReplayed, the role rule (SSORole) ESSOAdminNotAllowed or
	// ESSORoleMismatch.
	SparkSSOLogin(ctx context.Context, in SSOLogin) (*SSOResult, error)
	// EnrollMappedQuestsForCourse enrols every student Spark reported in
	// sparkCourseID in the quest the course now maps to (called when a
	// mapping appears); it returns how many enrolments it added.
	EnrollMappedQuestsForCourse(ctx context.Context, sparkCourseID string) (int, error)
	// PurgeExpiredSSONonces forgets nonces whose tokens can no longer be
	// valid, returning how many it removed.
	PurgeExpiredSSONonces(ctx context.Context) (int64, error)
	// UserBySparkID is the user linked to a Spark user id (ENOTFOUND when
	// none); SSO asks it, without side effects, whether a token names the
	// person already signed in.
	UserBySparkID(ctx context.Context, sparkUserID string) (*User, error)
}

// SSORole is the role rule of Spark SSO. existing is the account's role, or
// "" for an account this login creates; token is the role Spark asserts.
//
// A token with role admin is refused unless allowAdmin. A new account takes
// the token's role. For an existing account the existing role wins: a token
// never changes it, and a token whose role differs is refused — except that,
// with allowAdmin, role admin promotes the account to admin. An existing
// admin signs in through Spark only with allowAdmin.
func SSORole(existing, token Role, allowAdmin bool) (Role, error) {
	if token == RoleAdmin && !allowAdmin {
		return "", Errorf(ESSOAdminNotAllowed, "Spark says you are an administrator, but this Optio does not accept administrator sign-ins from Spark. Sign in to Optio with your password instead, or ask the Optio operator to set SPARK_SSO_ALLOW_ADMIN=true.")
	}
	switch {
	case existing == "":
		return token, nil
	case existing == RoleAdmin && !allowAdmin:
		return "", Errorf(ESSOAdminNotAllowed, "This Optio account is an administrator, and this Optio does not accept administrator sign-ins from Spark. Sign in to Optio with your password instead.")
	case existing == token:
		return existing, nil
	case token == RoleAdmin:
		return RoleAdmin, nil
	}
	return "", Errorf(ESSORoleMismatch, "This account is a %s in Optio, but Spark signed you in as a %s. Signing in cannot change a role; ask an Optio administrator to help.", existing, token)
}
