package web

import (
	"context"
	"time"

	"github.com/optio-edu/optio"
)

// portfolioAccess is how much of a student's portfolio a viewer may see.
type portfolioAccess int

const (
	// accessNone: the portfolio answers 404, as if it did not exist.
	accessNone portfolioAccess = iota
	// accessPublic: anyone, because the student made it public or unlisted
	// (and a parent consented, for a minor); private blocks stay hidden.
	accessPublic
	// accessEmbed: Spark showing the portfolio inside a Spark page through a
	// verified embed token (or a file grant of such a page), for any
	// visibility but private; private blocks stay hidden.
	accessEmbed
	// accessObserver: an observer the student's family invited; private
	// blocks stay hidden.
	accessObserver
	// accessFamily: the student, a linked parent or an admin; everything,
	// private blocks included.
	accessFamily
)

// seesPrivate reports whether the viewer may see blocks marked private.
func (a portfolioAccess) seesPrivate() bool { return a == accessFamily }

// portfolioAccess decides a viewer's access to a student's portfolio from
// the one relationship rule every page and API uses (accessTo), checked on
// every call; accessNone means not at all. The owner, an admin, a linked
// parent and an unrevoked observer always may see it; Spark through an embed token when it is not private (school-only is
// not public, so it needs no consent); anyone else only when it is public
// or unlisted and, for a minor (unknown age, or an age only the student
// vouches for, counts as minor: optio.User.PublicAllowed), a parent or a
// trusted Spark has consented.
func (s *Server) portfolioAccess(ctx context.Context, viewer *optio.User, student *optio.User) (portfolioAccess, error) {
	if student == nil || student.Role != optio.RoleStudent {
		return accessNone, nil
	}
	if viewer != nil {
		a, err := s.accessTo(ctx, viewer, student.ID)
		if err != nil {
			return accessNone, err
		}
		switch {
		case a.self, a.parent, a.admin:
			return accessFamily, nil
		case a.observer != nil:
			return accessObserver, nil
		}
	}
	if publiclyViewable(student, s.now()) {
		return accessPublic, nil
	}
	if student.Visibility != optio.VisibilityPrivate && embedGrantFor(ctx, student) {
		return accessEmbed, nil
	}
	return accessNone, nil
}

// publiclyViewable reports whether strangers may see a student's portfolio.
func publiclyViewable(student *optio.User, now time.Time) bool {
	if student.Visibility != optio.VisibilityPublic && student.Visibility != optio.VisibilityUnlisted {
		return false
	}
	return student.PublicAllowed(now)
}

// hiddenReason says, to the owner and their family, why strangers do not see
// the portfolio ("" when they do), with where to act: the student's family
// page (connect a parent, see who consented) and, on the page, the parent's
// consent form. The rendering is shared by everyone with family access, so
// the text names both.
func hiddenReason(student *optio.User, now time.Time) (reason, link, linkText string) {
	switch student.Visibility {
	case optio.VisibilityPrivate:
		return "This portfolio is private: only the student, their family and observers see it.", "/dashboard", "Change who can see it"
	case optio.VisibilitySchool:
		return "This portfolio is school only: it shows inside Spark, and to the family and observers, not on the open web.", "/dashboard", "Change who can see it"
	}
	if !student.PublicAllowed(now) {
		return "Strangers do not see this portfolio yet: it is waiting for a parent's consent.", "/family", "Ask a parent to consent here"
	}
	return "", "", ""
}
