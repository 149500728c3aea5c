package optio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestCatalogURLEscapesTheCourseID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "https://onfire.test/courses/spark-physics", optio.CatalogURL("https://onfire.test/courses/{course_id}", "spark-physics"))
	require.Equal(t, "https://onfire.test/c?id=a%20b%2Fc%26d%3Fe", optio.CatalogURL("https://onfire.test/c?id={course_id}", "a b/c&d?e"))
}

func TestBadgeProgressSummarize(t *testing.T) {
	t.Parallel()
	ref := optio.CourseRef{SparkCourseID: "c"}
	at := time.Date(2026, 3, 3, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		p       optio.BadgeProgress
		text    string
		percent int
	}{
		{"two missing", optio.BadgeProgress{CoursesDone: []optio.CourseRef{ref}, CoursesMissing: []optio.CourseRef{ref, ref}, XPRequired: 1500},
			"Complete 2 more Spark courses to earn this badge", 16},
		{"one missing", optio.BadgeProgress{CoursesDone: []optio.CourseRef{ref, ref}, CoursesMissing: []optio.CourseRef{ref}},
			"Complete 1 more Spark course to earn this badge", 66},
		{"XP short", optio.BadgeProgress{CoursesDone: []optio.CourseRef{ref}, XP: 1200, XPRequired: 1500},
			"Earn 300 more XP in these courses to earn this badge", 90},
		{"XP short by thousands", optio.BadgeProgress{CoursesDone: []optio.CourseRef{ref}, XPRequired: 12500},
			"Earn 12,500 more XP in these courses to earn this badge", 50},
		{"earned", optio.BadgeProgress{Earned: true, EarnedAt: &at, CoursesMissing: []optio.CourseRef{ref}},
			"Earned on 3 Mar 2026", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.p
			p.Summarize()
			require.Equal(t, tc.text, p.Text)
			require.Equal(t, tc.percent, p.Percent)
		})
	}
}
