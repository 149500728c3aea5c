// Package dataexport writes the ZIP of everything Optio holds about a
// student (issue 25, docs/privacy.md): an HTML portfolio that works offline,
// every evidence file as stored, earned badges as Open Badges 3.0
// credentials, and records.json with every database record. The ZIP is
// written to an io.Writer as it is built, file by file, so a large portfolio
// is never held in memory.
package dataexport

import (
	"archive/zip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
)

// Store is what an export reads from the database.
type Store interface {
	StudentRecords(ctx context.Context, studentID string) (*optio.StudentRecords, error)
	StudentFiles(ctx context.Context, studentID string) ([]optio.ExportFile, error)
	EarnedBadges(ctx context.Context, studentID string) ([]optio.BadgeAward, error)
	RecentCompletions(ctx context.Context, userID string, limit, offset int) ([]optio.CompletionView, error)
	XPSummary(ctx context.Context, userID string) (*optio.XPSummary, error)
}

// Blobs opens stored evidence files by key.
type Blobs interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// CredentialSigner signs an earned badge as an Open Badges 3.0 credential
// (a VC-JWT) for the student with email (the jobs package adapts
// openbadges.Issuer). The export writes the JWT and its payload, so it does
// not depend on the credential's fields.
type CredentialSigner interface {
	SignAward(a *optio.BadgeAward, email string) (string, error)
}

// Exporter builds exports. Progress, when set, is told after each file how
// many of the export's entries are written.
type Exporter struct {
	Store    Store
	Blobs    Blobs
	Signer   CredentialSigner
	Clock    optio.Clock
	Progress func(done, total int)
}

// Summary is what an export wrote.
type Summary struct {
	Files       int
	Badges      int
	Completions int
}

// Write streams the ZIP of studentID's data to w.
func (e *Exporter) Write(ctx context.Context, w io.Writer, studentID string) (*Summary, error) {
	recs, err := e.Store.StudentRecords(ctx, studentID)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", studentID, err)
	}
	files, err := e.Store.StudentFiles(ctx, studentID)
	if err != nil {
		return nil, fmt.Errorf("export %s: files: %w", studentID, err)
	}
	awards, err := e.Store.EarnedBadges(ctx, studentID)
	if err != nil {
		return nil, fmt.Errorf("export %s: badges: %w", studentID, err)
	}
	var completions []optio.CompletionView
	for off := 0; ; off += 200 {
		page, err := e.Store.RecentCompletions(ctx, studentID, 200, off)
		if err != nil {
			return nil, fmt.Errorf("export %s: completions: %w", studentID, err)
		}
		completions = append(completions, page...)
		if len(page) < 200 {
			break
		}
	}
	xp, err := e.Store.XPSummary(ctx, studentID)
	if err != nil {
		return nil, fmt.Errorf("export %s: xp: %w", studentID, err)
	}
	clock := e.Clock
	if clock == nil {
		clock = optio.SystemClock{}
	}
	now := clock.Now()

	paths := FilePaths(files)
	total := len(files) + len(awards) + 3
	done := 0
	step := func() {
		done++
		if e.Progress != nil {
			e.Progress(done, total)
		}
	}
	zw := zip.NewWriter(w)
	create := func(name string) (io.Writer, error) {
		return zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
	}

	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := e.copyFile(ctx, zw, f, paths[f.ID], now); err != nil {
			return nil, err
		}
		step()
	}

	var creds []credentialEntry
	for i := range awards {
		a := &awards[i]
		jwt, err := e.Signer.SignAward(a, recs.Profile.Email)
		if err != nil {
			return nil, fmt.Errorf("export %s: sign badge %s: %w", studentID, a.Badge.ID, err)
		}
		base := "badges/" + a.Badge.ID
		out, err := create(base + ".jwt")
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(out, jwt); err != nil {
			return nil, err
		}
		if payload := jwtPayload(jwt); payload != nil {
			out, err := create(base + ".json")
			if err != nil {
				return nil, err
			}
			if _, err := out.Write(payload); err != nil {
				return nil, err
			}
		}
		creds = append(creds, credentialEntry{Name: a.Badge.Name, EarnedAt: a.EarnedAt, JWT: base + ".jwt", JSON: base + ".json"})
		step()
	}

	out, err := create("records.json")
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(recordsDoc{ExportedAt: now, Format: "optio-export/1", StudentRecords: recs}); err != nil {
		return nil, fmt.Errorf("export %s: records: %w", studentID, err)
	}
	step()

	out, err = create("index.html")
	if err != nil {
		return nil, err
	}
	if err := renderPortfolio(out, portfolioPage{Student: recs.Profile, XP: xp, Completions: completions, FilePaths: paths,
		Badges: creds, Files: files, ExportedAt: now}); err != nil {
		return nil, fmt.Errorf("export %s: portfolio page: %w", studentID, err)
	}
	step()

	out, err = create("README.txt")
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(out, readme); err != nil {
		return nil, err
	}
	step()
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &Summary{Files: len(files), Badges: len(awards), Completions: len(completions)}, nil
}

func (e *Exporter) copyFile(ctx context.Context, zw *zip.Writer, f optio.ExportFile, name string, now time.Time) error {
	r, err := e.Blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return fmt.Errorf("export file %s: %w", f.ID, err)
	}
	defer r.Close()
	// Media and documents are compressed already: store them as they are.
	method := zip.Store
	if strings.HasPrefix(f.ContentType, "text/") {
		method = zip.Deflate
	}
	out, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: now})
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		return fmt.Errorf("export file %s: %w", f.ID, err)
	}
	return nil
}

// FilePaths names each file inside the ZIP: files/<id>-<safe filename>, so
// names never collide and never climb out of the folder.
func FilePaths(files []optio.ExportFile) map[string]string {
	out := make(map[string]string, len(files))
	for _, f := range files {
		name := filestore.SafeFilename(path.Base(strings.ReplaceAll(f.Filename, "\\", "/")))
		name = strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == ':' || r < 0x20 {
				return '_'
			}
			return r
		}, name)
		if name == "" || name == "." || name == ".." {
			name = "file"
		}
		out[f.ID] = "files/" + f.ID + "-" + name
	}
	return out
}

// jwtPayload decodes a compact JWS's payload (nil when it is not one).
func jwtPayload(jwt string) []byte {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !json.Valid(b) {
		return nil
	}
	return b
}

type recordsDoc struct {
	Format     string    `json:"format"`
	ExportedAt time.Time `json:"exported_at"`
	*optio.StudentRecords
}

type credentialEntry struct {
	Name     string
	EarnedAt time.Time
	JWT      string
	JSON     string
}

const readme = `Everything Optio holds about this student.

index.html    the portfolio: open it in any browser, no internet needed
files/        every evidence file, exactly as it was stored
badges/       earned badges as Open Badges 3.0 credentials: <id>.jwt is the
              signed credential (VC-JWT; verify it against the issuer's
              /.well-known/jwks.json), <id>.json its content
records.json  every database record about the student: profile, quests,
              completions, evidence, XP ledger, comments, tutor
              conversations, consent and family links, Spark links and
              submissions, and the audit log of who saw or changed them
`
