package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/app"
	"github.com/optio-edu/optio/sandbox"
)

// demoConsentedStudent is the sandbox student whose family the demo seeds
// as consented, so a public portfolio link works out of the box.
const demoConsentedStudent = "spark-stu-noah"

// demoBadge is the badge the demo's consented student earns out of the box:
// the plan's badges each need three courses no sandbox student takes all of.
var demoBadge = struct {
	name, description, course string
	xp                        int
}{"Physics Lab Explorer", "Every Physics assignment on Spark handed in, with 500 XP earned in them.", "spark-physics", 500}

// demoWork is what the consented student hands in, through the sandbox like
// any Spark submission, so their public portfolio has real work on it: every
// Physics assignment (which completes the course and earns demoBadge), with
// a chart and a video as evidence, a drawing in Adobe Certification and a PDF
// essay (the sample is on photosynthesis) in Minecraft Biology: nothing of
// his is overdue, so his parent's page opens on a student on track.
var demoWork = []struct {
	assignment, text string
	samples          []string
}{
	{"spark-physics-motion-lab", "I rolled a marble down a ramp five times and timed each metre. The chart shows it speeding up steadily.", []string{"chart-png"}},
	{"spark-physics-forces-essay", "Newton's three laws, in football: a ball stays put until kicked, a harder kick means more acceleration, and the kick pushes back on my foot.", nil},
	{"spark-physics-energy-project", "Our Rube Goldberg machine: a marble, dominoes, a toy car and a bell, five energy transfers in all.", []string{"timelapse-mp4"}},
	{"spark-physics-waves-quiz", "Sound needs something to travel through, light does not: that is why space is silent but we can still see the stars.", nil},
	{"spark-adobe-cert-photoshop-basics", "My rock layers drawing, retouched in Photoshop: one layer per stratum, and a mask to soften the sky.", []string{"drawing-png"}},
	{"spark-minecraft-biology-biome-survey", "Every biome I surveyed runs on photosynthesis, so I wrote up how it works: my essay is attached.", []string{"essay-pdf"}},
}

// seedDemo adds what the demo shows beyond Spark's own data: the plan's
// three cross-course badges, and one consented family (the Okafors: Noah's
// parent Grace consented to his public portfolio, and Noah has handed in his
// Physics work, which earns a badge), so the public portfolio link shows real
// work from the start (withWork false leaves the work out). It returns that
// portfolio's URL.
func seedDemo(ctx context.Context, a *app.App, sb *sandbox.Sandbox, withWork bool) (string, error) {
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
	// The student signs in as through Spark, with the courses Spark's token
	// would carry, so the family pages know them before the first poll.
	var courses []string
	for id, e := range sb.Enrollments(student.ID) {
		if e.Status == sandbox.StatusActive {
			courses = append(courses, id)
		}
	}
	slices.Sort(courses)
	login := func(u *sandbox.User, courses, children []string) (*optio.User, error) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		res, err := a.Store.SparkSSOLogin(ctx, optio.SSOLogin{
			Identity: optio.SparkIdentity{SparkUserID: u.ID, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, Role: optio.Role(u.Role)},
			Nonce:    "demo-seed-" + hex.EncodeToString(b), NonceExpiry: time.Now().Add(time.Hour), SparkCourseIDs: courses, SparkStudentIDs: children,
		})
		if err != nil {
			return nil, fmt.Errorf("demo seed %s: %w", u.ID, err)
		}
		return res.User, nil
	}
	s, err := login(student, courses, nil)
	if err != nil {
		return "", err
	}
	p, err := login(parent, nil, []string{student.ID})
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
		if withWork {
			if err := seedDemoWork(ctx, a, sb, student.ID); err != nil {
				return "", err
			}
		}
	}
	return a.URL() + "/portfolio/" + url.PathEscape(s.PortfolioSlug), nil
}

// seedDemoWork defines demoBadge and hands in demoWork for the student. The
// submissions travel as Spark's would (signed webhooks, files fetched from
// the sandbox), so they reach the portfolio within seconds of the banner.
func seedDemoWork(ctx context.Context, a *app.App, sb *sandbox.Sandbox, studentID string) error {
	courses, xp, pillar := []string{demoBadge.course}, demoBadge.xp, string(optio.PillarSTEM)
	_, err := a.Store.CreateBadge(ctx, optio.BadgeInput{Name: &demoBadge.name, Description: &demoBadge.description,
		RequiredCourses: &courses, XPRequired: &xp, Pillar: &pillar})
	if err != nil && optio.ErrorCode(err) != optio.ECONFLICT {
		return fmt.Errorf("demo seed badge: %w", err)
	}
	for _, w := range demoWork {
		var files []sandbox.SampleFile
		for _, key := range w.samples {
			f, ok := sandbox.Sample(key)
			if !ok {
				return fmt.Errorf("demo seed: no sample %q", key)
			}
			files = append(files, f)
		}
		if _, err := sb.Submit(ctx, studentID, w.assignment, w.text, files); err != nil {
			return fmt.Errorf("demo seed submission %s: %w", w.assignment, err)
		}
	}
	return nil
}
