package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/sandbox"
)

// demoConsentedStudent is the sandbox student whose family the demo seeds
// as consented, so a public portfolio link works out of the box.
const demoConsentedStudent = "spark-stu-noah"

// seedDemo adds what the demo shows beyond Spark's own data: the plan's
// three cross-course badges, and one consented family (the Okafors: Noah's
// parent Grace consented to his public portfolio), so a public portfolio
// link works from the start. It returns that portfolio's URL.
func seedDemo(ctx context.Context, a *app.App, sb *sandbox.Sandbox) (string, error) {
	if err := a.Store.SeedPlanBadges(ctx); err != nil {
		return "", err
	}
	var student, parent *sandbox.User
	for _, u := range sb.Users() {
		if u.ID == demoConsentedStudent {
			student = &u
		}
	}
	if student == nil {
		return "", fmt.Errorf("demo seed: the sandbox has no %s", demoConsentedStudent)
	}
	for _, u := range sb.Users() {
		if u.ID == student.ParentID {
			parent = &u
		}
	}
	if parent == nil {
		return "", fmt.Errorf("demo seed: %s has no parent in the sandbox", student.ID)
	}
	login := func(u *sandbox.User, children []string) (*optio.User, error) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		res, err := a.Store.SparkSSOLogin(ctx, optio.SSOLogin{
			Identity: optio.SparkIdentity{SparkUserID: u.ID, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Role: optio.Role(u.Role)},
			Nonce:    "demo-seed-" + hex.EncodeToString(b), NonceExpiry: time.Now().Add(time.Hour), SparkStudentIDs: children,
		})
		if err != nil {
			return nil, fmt.Errorf("demo seed %s: %w", u.ID, err)
		}
		return res.User, nil
	}
	s, err := login(student, nil)
	if err != nil {
		return "", err
	}
	p, err := login(parent, []string{student.ID})
	if err != nil {
		return "", err
	}
	// Seeded once: a later decision (a parent withdrawing) stands across restarts.
	if s.ConsentFact == nil {
		if _, err := a.Store.SetParentConsent(ctx, p.ID, s.ID, true, nil); err != nil {
			return "", fmt.Errorf("demo seed consent: %w", err)
		}
		pub := optio.VisibilityPublic
		if _, err := a.Store.UpdateProfile(ctx, s.ID, optio.ProfileUpdate{Visibility: &pub}); err != nil {
			return "", fmt.Errorf("demo seed visibility: %w", err)
		}
	}
	return a.URL() + "/portfolio/" + url.PathEscape(s.PortfolioSlug), nil
}
