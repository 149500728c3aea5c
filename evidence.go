package optio

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// BlockType is the kind of one evidence block.
type BlockType string

// Evidence block types.
const (
	BlockText     BlockType = "text"
	BlockImage    BlockType = "image"
	BlockVideo    BlockType = "video"
	BlockLink     BlockType = "link"
	BlockDocument BlockType = "document"
)

// Valid reports whether t is a known block type.
func (t BlockType) Valid() bool {
	switch t {
	case BlockText, BlockImage, BlockVideo, BlockLink, BlockDocument:
		return true
	}
	return false
}

// EvidenceDocument is the student's work for one task completion: an ordered
// list of blocks.
type EvidenceDocument struct {
	ID           string          `json:"id"`
	UserID       string          `json:"user_id"`
	TaskID       string          `json:"task_id"`
	CompletionID string          `json:"completion_id"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	Blocks       []EvidenceBlock `json:"blocks"`
}

// EvidenceBlock is one piece of evidence. Content is type-specific JSON
// (BlockContent); files are referenced by FileID, never by raw blob URL.
type EvidenceBlock struct {
	ID         string       `json:"id"`
	DocumentID string       `json:"document_id"`
	BlockType  BlockType    `json:"block_type"`
	Position   int          `json:"order"`
	Content    BlockContent `json:"content"`
	Private    bool         `json:"private"`
	CreatedAt  time.Time    `json:"created_at"`
}

// BlockContent is the content of a block. Text blocks use Text; link blocks
// URL and Title; file blocks (image, video, document) FileID, Filename,
// ContentType and Size. Spark-synced blocks carry Source "spark" and the
// Spark course and assignment ids.
type BlockContent struct {
	Text              string     `json:"text,omitempty"`
	URL               string     `json:"url,omitempty"`
	Title             string     `json:"title,omitempty"`
	FileID            string     `json:"file_id,omitempty"`
	Filename          string     `json:"filename,omitempty"`
	ContentType       string     `json:"content_type,omitempty"`
	Size              int64      `json:"size,omitempty"`
	Source            string     `json:"source,omitempty"`
	SparkCourseID     string     `json:"spark_course_id,omitempty"`
	SparkAssignmentID string     `json:"spark_assignment_id,omitempty"`
	SyncedAt          *time.Time `json:"synced_at,omitempty"`
	// PreviewFileID is a web rendition (JPEG) of an image a browser cannot
	// show (TIFF, BMP, HEIC); FileID stays the original, for download.
	PreviewFileID string `json:"preview_file_id,omitempty"`
	// NotImported is why a submitted file could not be imported ("too
	// large", "type not accepted"…); such a block has no file. OriginalURL
	// is where Spark offered it, kept only when safe to show (no query,
	// fragment or user info, where a signed link keeps its token; never a refused host).
	NotImported string `json:"not_imported,omitempty"`
	OriginalURL string `json:"original_url,omitempty"`
}

// JSON encodes the content for storage.
func (c BlockContent) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// File is an uploaded or synced file, stored content-addressed in blob
// storage under BlobKey. Files are served through Optio by ID, with access
// checked against the block that uses them.
type File struct {
	ID          string    `json:"id"`
	OwnerID     string    `json:"owner_id"`
	BlobKey     string    `json:"-"`
	SHA256      string    `json:"sha256"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// BlockInput is one block to attach to a completion. When File is set, the
// file's record is written in the same transaction as the block and
// Content.FileID is filled in.
type BlockInput struct {
	BlockType BlockType
	Content   BlockContent
	Private   bool
	File      *File
	// Preview, when set, is written like File and becomes Content.PreviewFileID.
	Preview *File
}

// ValidateBlocks checks evidence blocks before they are stored, naming every
// bad field.
func ValidateBlocks(blocks []BlockInput) error {
	f := FieldErrors{}
	if len(blocks) > 100 {
		f.Add("evidence", "at most 100 blocks")
	}
	for i, b := range blocks {
		p := fmt.Sprintf("evidence[%d].", i)
		switch b.BlockType {
		case BlockText:
			switch {
			case strings.TrimSpace(b.Content.Text) == "":
				f.Add(p+"text", "is required for a text block")
			case len(b.Content.Text) > 100000:
				f.Add(p+"text", "must be at most 100000 characters")
			case !ValidText(b.Content.Text):
				f.Add(p+"text", InvalidTextProblem)
			}
		case BlockLink:
			u, err := url.Parse(b.Content.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(b.Content.URL) > 2048 || !ValidText(b.Content.URL) {
				f.Add(p+"url", "must be an http(s) URL")
			}
			if !ValidText(b.Content.Title) {
				f.Add(p+"title", InvalidTextProblem)
			}
		case BlockImage, BlockVideo, BlockDocument:
			if b.Content.FileID == "" && b.File == nil {
				f.Add(p+"file_id", "is required for a file block")
			}
		default:
			f.Add(p+"block_type", "must be text, image, video, link or document")
		}
	}
	return f.Err(EINVALID, "The evidence is not valid.")
}
