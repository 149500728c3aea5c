package optio

import "time"

// Badge rewards a cluster of Spark courses plus an XP bar. RequiredCourses
// are Spark course ids; XPRequired counts XP earned in those courses.
type Badge struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	ImageURL        string    `json:"image_url"`
	RequiredCourses []string  `json:"required_courses"`
	XPRequired      int       `json:"xp_required"`
	Pillar          *Pillar   `json:"pillar,omitempty"`
	Active          bool      `json:"active"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// CourseRef names a Spark course in progress views, with its OnFire
// catalog link.
type CourseRef struct {
	SparkCourseID string `json:"spark_course_id"`
	Title         string `json:"title"`
	CatalogURL    string `json:"catalog_url,omitempty"`
}

// BadgeProgress is one badge as one student stands with it: earned or not,
// which courses are done and missing, XP so far, and the sentence to show
// ("Complete 2 more Spark courses to earn this badge").
type BadgeProgress struct {
	Badge          Badge       `json:"badge"`
	Earned         bool        `json:"earned"`
	EarnedAt       *time.Time  `json:"earned_at,omitempty"`
	CoursesDone    []CourseRef `json:"courses_done"`
	CoursesMissing []CourseRef `json:"courses_missing"`
	XP             int         `json:"xp"`
	XPRequired     int         `json:"xp_required"`
	Percent        int         `json:"percent"`
	Text           string      `json:"text"`
}
