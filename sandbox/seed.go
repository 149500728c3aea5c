package sandbox

import (
	"strings"
	"time"
)

// Course is a Spark course in the sandbox's catalogue.
type Course struct {
	ID          string
	Title       string
	Description string
	Assignments []Assignment
}

// Assignment is one assignment of a sandbox course.
type Assignment struct {
	ID          string
	CourseID    string
	Title       string
	Description string
	DueAt       time.Time
	MaxPoints   float64
}

// User is a seeded Spark user the UI lets you act as.
type User struct {
	ID         string
	Role       string // student, parent or admin
	Email      string
	GivenName  string
	FamilyName string
	// ChildIDs are a parent's children (spark_student_ids).
	ChildIDs []string
	// ParentID is a student's parent.
	ParentID string
}

// Name is the user's full name.
func (u User) Name() string { return u.GivenName + " " + u.FamilyName }

// The roles a sandbox user can have, as they appear in SSO tokens.
const (
	RoleStudent = "student"
	RoleParent  = "parent"
	RoleAdmin   = "admin"
)

// assignmentSeed is an assignment with its due date as an offset from the
// sandbox's start, so some are always past and some upcoming.
type assignmentSeed struct {
	slug, title, description string
	dueInDays                int
	points                   float64
}

type courseSeed struct {
	id, title, description string
	assignments            []assignmentSeed
}

// courseSeeds are the nine OnFire courses behind Optio's three badges
// (max points are sized so finishing a cluster clears its badge's XP bar):
// STEM (Physics, Chemistry, Advanced Math), Creative Design (Graphic Design,
// Illustration, Adobe Certification) and Minecraft Science (Biology,
// Geology, Zoology). Ids are stable so payloads and docs can name them.
var courseSeeds = []courseSeed{
	{"spark-physics", "Physics", "Motion, forces, energy and waves, with hands-on labs.", []assignmentSeed{
		{"motion-lab", "Motion lab report", "Measure a rolling ball's speed and graph distance against time.", -10, 200},
		{"forces-essay", "Newton's laws essay", "Explain Newton's three laws with everyday examples.", -2, 150},
		{"energy-project", "Energy transfer project", "Build and film a Rube Goldberg machine; describe each energy transfer.", 6, 200},
		{"waves-quiz", "Waves reflection", "Reflect on what you learned about sound and light waves.", 14, 100},
	}},
	{"spark-chemistry", "Chemistry", "Atoms, reactions and the chemistry of everyday life.", []assignmentSeed{
		{"periodic-table", "Periodic table poster", "Design a poster about one group of the periodic table.", -8, 150},
		{"reaction-lab", "Reaction rates lab", "Test how temperature changes the speed of a reaction.", 3, 200},
		{"kitchen-chemistry", "Kitchen chemistry video", "Film a safe kitchen experiment and explain the chemistry.", 12, 150},
	}},
	{"spark-advanced-math", "Advanced Math", "Algebra, functions and an introduction to calculus.", []assignmentSeed{
		{"functions-set", "Functions problem set", "Solve ten problems on linear and quadratic functions.", -5, 120},
		{"statistics-project", "Statistics project", "Collect data about your community and present the statistics.", 4, 200},
		{"limits-explainer", "Limits explainer", "Make a short presentation explaining limits to a younger student.", 15, 130},
	}},
	{"spark-graphic-design", "Graphic Design", "Layout, typography and colour for print and screen.", []assignmentSeed{
		{"logo-design", "Logo design", "Design a logo for a local business and explain your choices.", -6, 100},
		{"typography-poster", "Typography poster", "Create a poster that uses only type.", 2, 80},
		{"brand-guide", "Brand guide", "Assemble a one-page brand guide.", 10, 100},
	}},
	{"spark-illustration", "Illustration", "Drawing from observation to digital illustration.", []assignmentSeed{
		{"observation-sketches", "Observation sketches", "Ten sketches of objects around your home.", -9, 60},
		{"character-design", "Character design", "Design a character with three poses.", -1, 80},
		{"picture-book-spread", "Picture book spread", "Illustrate a two-page spread for a picture book.", 9, 100},
	}},
	{"spark-adobe-cert", "Adobe Certification", "Prepare for the Adobe Certified Professional exam.", []assignmentSeed{
		{"photoshop-basics", "Photoshop basics", "Retouch a photo using layers and masks.", -4, 60},
		{"illustrator-vectors", "Illustrator vectors", "Recreate an icon set with vector shapes.", 5, 60},
		{"practice-exam", "Practice exam reflection", "Take the practice exam and reflect on the results.", 13, 40},
		{"portfolio-piece", "Certification portfolio piece", "Produce one polished piece for your portfolio.", 20, 100},
	}},
	{"spark-minecraft-biology", "Minecraft Biology", "Explore ecosystems and cells in a Minecraft world.", []assignmentSeed{
		{"biome-survey", "Biome survey", "Survey three biomes and record the living things in each.", -7, 80},
		{"cell-model", "Giant cell model", "Build a plant cell and label its organelles.", 1, 150},
		{"food-web", "Food web presentation", "Present the food web of your world.", 11, 100},
	}},
	{"spark-minecraft-geology", "Minecraft Geology", "Rocks, minerals and landforms, block by block.", []assignmentSeed{
		{"rock-layers", "Rock layers cross-section", "Draw a cross-section of the layers in a cliff.", -3, 80},
		{"mineral-hunt", "Mineral hunt journal", "Keep a journal of the ores you find and where.", 4, 70},
		{"volcano-build", "Volcano build", "Build a volcano and explain how it formed.", 16, 150},
	}},
	{"spark-minecraft-zoology", "Minecraft Zoology", "Animal behaviour, habitats and conservation.", []assignmentSeed{
		{"animal-observation", "Animal observation log", "Observe three mobs and log their behaviour.", -11, 70},
		{"habitat-design", "Habitat design", "Design an enclosure that meets an animal's needs.", 2, 150},
		{"conservation-pitch", "Conservation pitch", "Pitch a plan to protect an endangered species.", 8, 100},
	}},
}

// seedCourses builds the catalogue with due dates relative to now (noon UTC).
func seedCourses(now time.Time) []*Course {
	day := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	out := make([]*Course, 0, len(courseSeeds))
	for _, cs := range courseSeeds {
		c := &Course{ID: cs.id, Title: cs.title, Description: cs.description}
		for _, a := range cs.assignments {
			c.Assignments = append(c.Assignments, Assignment{
				ID: cs.id + "-" + a.slug, CourseID: cs.id, Title: a.title, Description: a.description,
				DueAt: day.AddDate(0, 0, a.dueInDays), MaxPoints: a.points,
			})
		}
		out = append(out, c)
	}
	return out
}

// familySeed is a seeded student, their parent and their starting courses.
type familySeed struct {
	studentID, given, family, parentID, parentGiven string
	courses                                         []string
}

var familySeeds = []familySeed{
	{"spark-stu-maya", "Maya", "Chen", "spark-par-lin", "Lin", []string{"spark-physics", "spark-chemistry", "spark-advanced-math"}},
	{"spark-stu-leo", "Leo", "Martinez", "spark-par-sofia", "Sofia", []string{"spark-graphic-design", "spark-illustration"}},
	{"spark-stu-ava", "Ava", "Johnson", "spark-par-marcus", "Marcus", []string{"spark-minecraft-biology", "spark-minecraft-geology", "spark-minecraft-zoology"}},
	{"spark-stu-noah", "Noah", "Okafor", "spark-par-grace", "Grace", []string{"spark-physics", "spark-minecraft-biology", "spark-adobe-cert"}},
}

// seedUsers returns the seeded users in display order, and the students'
// starting enrolments.
func seedUsers() ([]*User, map[string][]string) {
	var users []*User
	enrolled := map[string][]string{}
	for _, f := range familySeeds {
		users = append(users, &User{
			ID: f.studentID, Role: RoleStudent, GivenName: f.given, FamilyName: f.family,
			Email: emailFor(f.given, f.family), ParentID: f.parentID,
		})
		enrolled[f.studentID] = f.courses
	}
	for _, f := range familySeeds {
		users = append(users, &User{
			ID: f.parentID, Role: RoleParent, GivenName: f.parentGiven, FamilyName: f.family,
			Email: emailFor(f.parentGiven, f.family), ChildIDs: []string{f.studentID},
		})
	}
	users = append(users, &User{ID: "spark-admin", Role: RoleAdmin, GivenName: "Sam", FamilyName: "Rivera", Email: "sam.rivera@spark.example"})
	return users, enrolled
}

func emailFor(given, family string) string {
	return strings.ToLower(given + "." + family + "@spark.example")
}
