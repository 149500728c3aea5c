package spark

import (
	"mime"
	"path"
	"strings"

	"github.com/optio-edu/optio"
)

// family groups file types that render the same way on a portfolio.
type family int

const (
	famDocument family = iota + 1
	famImage
	famVideo
	famAudio
	famPresentation
	famSpreadsheet
	famText
)

// allowedMIME is every content type a Spark submission file may declare,
// with its family. SVG is left out on purpose: served from Optio's origin it
// could carry script.
var allowedMIME = map[string]family{
	"application/pdf":    famDocument,
	"application/msword": famDocument,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": famDocument,
	"application/vnd.oasis.opendocument.text":                                 famDocument,
	"application/rtf": famDocument,

	"application/vnd.ms-powerpoint":                                             famPresentation,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": famPresentation,
	"application/vnd.oasis.opendocument.presentation":                           famPresentation,

	"application/vnd.ms-excel": famSpreadsheet,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": famSpreadsheet,
	"application/vnd.oasis.opendocument.spreadsheet":                    famSpreadsheet,
	"text/csv": famSpreadsheet,

	"image/jpeg": famImage, "image/png": famImage, "image/gif": famImage, "image/webp": famImage,
	"image/heic": famImage, "image/heif": famImage, "image/avif": famImage, "image/bmp": famImage,
	"image/tiff": famImage,

	"video/mp4": famVideo, "video/quicktime": famVideo, "video/webm": famVideo, "video/ogg": famVideo,
	"video/x-m4v": famVideo,

	"audio/mpeg": famAudio, "audio/mp4": famAudio, "audio/wav": famAudio, "audio/ogg": famAudio,
	"audio/webm": famAudio, "audio/aac": famAudio, "audio/flac": famAudio,

	"text/plain": famText, "text/markdown": famText,
}

// mimeAliases maps common non-canonical spellings to the canonical type.
var mimeAliases = map[string]string{
	"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
	"audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/x-m4a": "audio/mp4",
	"text/x-markdown": "text/markdown", "application/x-pdf": "application/pdf",
}

// extMIME maps a file extension (and the same word used as a short type) to
// its canonical content type.
var extMIME = map[string]string{
	"pdf": "application/pdf", "doc": "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"odt":  "application/vnd.oasis.opendocument.text", "rtf": "application/rtf",
	"ppt":  "application/vnd.ms-powerpoint",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odp":  "application/vnd.oasis.opendocument.presentation",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet", "csv": "text/csv",
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
	"heic": "image/heic", "heif": "image/heif", "avif": "image/avif", "bmp": "image/bmp", "tif": "image/tiff",
	"tiff": "image/tiff",
	"mp4":  "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "ogv": "video/ogg", "m4v": "video/x-m4v",
	"mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav", "ogg": "audio/ogg", "oga": "audio/ogg",
	"aac": "audio/aac", "flac": "audio/flac",
	"txt": "text/plain", "md": "text/markdown", "markdown": "text/markdown",
}

// shortKinds are the generic type words Spark may send instead of a MIME type.
var shortKinds = map[string]family{
	"image": famImage, "photo": famImage, "screenshot": famImage,
	"video": famVideo, "audio": famAudio,
	"document": famDocument, "essay": famDocument,
	"presentation": famPresentation, "slides": famPresentation,
	"spreadsheet": famSpreadsheet,
	"text":        famText,
}

// ResolveFileType turns a submission file's declared type (a MIME type, an
// extension word like "pdf", or a short kind like "image"; empty means
// "infer from the filename") into the content type to store and the
// evidence block it becomes. ok is false for anything not on the allowed
// list, which the decoders report as "unknown file type". The sync job
// still sniffs the bytes; this only screens the declaration.
func ResolveFileType(typ, filename string) (contentType string, block optio.BlockType, ok bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(strings.ReplaceAll(filename, `\`, "/"))), ".")
	if strings.Contains(t, "/") {
		mt, _, err := mime.ParseMediaType(t)
		if err != nil {
			return "", "", false
		}
		if a, found := mimeAliases[mt]; found {
			mt = a
		}
		fam, found := allowedMIME[mt]
		if !found {
			return "", "", false
		}
		return mt, familyBlock(fam), true
	}
	if t == "" {
		t = ext
	}
	if mt, found := extMIME[t]; found {
		return mt, familyBlock(allowedMIME[mt]), true
	}
	fam, found := shortKinds[t]
	if !found {
		return "", "", false
	}
	if t == "text" {
		return "text/plain", familyBlock(fam), true
	}
	if mt, found := extMIME[ext]; found && allowedMIME[mt] == fam {
		return mt, familyBlock(fam), true
	}
	return "application/octet-stream", familyBlock(fam), true
}

func familyBlock(f family) optio.BlockType {
	switch f {
	case famImage:
		return optio.BlockImage
	case famVideo:
		return optio.BlockVideo
	default:
		return optio.BlockDocument
	}
}
