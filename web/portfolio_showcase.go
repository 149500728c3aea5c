package web

import (
	"context"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/optio-edu/optio"
)

// badgeCard is an earned badge as the showcase shows it: its image, and its
// credential's public verification page (/credentials/{id}), which decides
// for itself how much of the student it names.
type badgeCard struct {
	ID            string
	Name          string
	Description   string
	ImagePath     string
	EarnedAt      *time.Time
	CredentialURL string
}

// commentView is an observer's encouragement as the showcase shows it.
type commentView struct {
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// studentInitials are the letters of the avatar: the first letter of the
// given and the family name ("MO" for Maya Ortiz).
func studentInitials(u *optio.User) string {
	var out []rune
	for _, n := range []string{u.GivenName, u.FamilyName} {
		for _, r := range strings.TrimSpace(n) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// splitBadges divides a student's badges into the earned ones (shown to
// everyone who sees the page, first) and progress towards the others (the
// owner and their family only). The JSON's badges are the earned ones for
// anyone else, so what is missing never reaches the public.
func splitBadges(all []optio.BadgeProgress, student *optio.User, family bool) (shown []optio.BadgeProgress, earned []badgeCard, progress []optio.BadgeProgress) {
	for _, b := range all {
		if !b.Earned {
			if family {
				progress = append(progress, b)
				shown = append(shown, b)
			}
			continue
		}
		shown = append(shown, b)
		card := badgeCard{ID: b.Badge.ID, Name: b.Badge.Name, Description: b.Badge.Description,
			ImagePath: optio.BadgeImagePath(b.Badge.ID), EarnedAt: b.EarnedAt}
		if b.CredentialID != "" {
			card.CredentialURL = "/credentials/" + url.PathEscape(b.CredentialID)
		}
		earned = append(earned, card)
	}
	return shown, earned, progress
}

// addCompletion fills each group's share of finished tasks from the
// counts PortfolioWork returns (a group shows at least its own items).
func addCompletion(v *portfolioView, counts map[string]optio.QuestCount) {
	for _, groups := range [][]workGroup{v.SparkCourses, v.Quests} {
		for i := range groups {
			g := &groups[i]
			c := counts[g.QuestID]
			g.TasksDone = max(c.Done, len(g.Items))
			g.TasksTotal = max(c.Total, g.TasksDone)
			if g.TasksTotal > 0 {
				g.Percent = g.TasksDone * 100 / g.TasksTotal
			}
		}
	}
}

// addComments puts the visible encouragement next to each piece of work.
func (s *Server) addComments(ctx context.Context, v *portfolioView) error {
	var ids []string
	v.eachItem(func(it *workItem) { ids = append(ids, it.CompletionID) })
	if len(ids) == 0 {
		return nil
	}
	cs, err := s.Store.CommentsOn(ctx, ids, false)
	if err != nil {
		return err
	}
	by := map[string][]commentView{}
	for _, c := range cs {
		by[c.CompletionID] = append(by[c.CompletionID], commentView{Author: c.AuthorName, Body: c.Body, CreatedAt: c.CreatedAt})
	}
	v.eachItem(func(it *workItem) { it.Comments = by[it.CompletionID] })
	return nil
}

// eachItem calls f on every work item of the view, in page order.
func (v *portfolioView) eachItem(f func(*workItem)) {
	for _, groups := range [][]workGroup{v.SparkCourses, v.Quests} {
		for gi := range groups {
			for ii := range groups[gi].Items {
				f(&groups[gi].Items[ii])
			}
		}
	}
}

// pickHeroes chooses what each card leads with: its first picture (with a
// thumbnail or shown as is) or video; everything else follows in order.
func (v *portfolioView) pickHeroes() {
	v.eachItem(func(it *workItem) {
		it.Hero, it.Rest = nil, nil
		for i := range it.Evidence {
			e := &it.Evidence[i]
			visual := (e.Type == optio.BlockImage && (e.ThumbPath != "" || e.ShowPath != "")) || (e.Type == optio.BlockVideo && e.Path != "")
			if it.Hero == nil && visual && e.NotImported == "" {
				hero := *e
				it.Hero = &hero
				continue
			}
			it.Rest = append(it.Rest, *e)
		}
	})
}

// fileTypeLabel names a file's type in words for a card: "PowerPoint
// presentation", never a MIME type. The file name's extension settles the
// families one content type covers (OpenDocument, iWork).
func fileTypeLabel(contentType, filename string) string {
	base, _, _ := strings.Cut(contentType, ";")
	ext := strings.ToLower(path.Ext(filename))
	switch base {
	case "application/pdf":
		return "PDF document"
	case "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation":
		return "PowerPoint presentation"
	case "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "Word document"
	case "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "Excel spreadsheet"
	case "application/vnd.oasis.opendocument.presentation":
		return "OpenDocument presentation"
	case "application/vnd.oasis.opendocument.text":
		return "OpenDocument text"
	case "application/vnd.oasis.opendocument.spreadsheet":
		return "OpenDocument spreadsheet"
	case "application/vnd.apple.keynote":
		return "Keynote presentation"
	case "application/vnd.apple.pages":
		return "Pages document"
	case "application/vnd.apple.numbers":
		return "Numbers spreadsheet"
	case "text/csv":
		return "Table (CSV)"
	case "text/plain":
		if ext == ".md" || ext == ".markdown" {
			return "Text (Markdown)"
		}
		return "Text file"
	}
	switch {
	case strings.HasPrefix(base, "image/"):
		return "Image"
	case strings.HasPrefix(base, "video/"):
		return "Video"
	case strings.HasPrefix(base, "audio/"):
		return "Audio recording"
	}
	return "File"
}

// pillarNames are the pillars as pages name them.
var pillarNames = map[optio.Pillar]string{
	optio.PillarSTEM: "STEM", optio.PillarWellness: "Wellness", optio.PillarCommunication: "Communication",
	optio.PillarCivics: "Civics", optio.PillarArt: "Art",
}

func pillarName(p optio.Pillar) string {
	if n, ok := pillarNames[p]; ok {
		return n
	}
	return string(p)
}
