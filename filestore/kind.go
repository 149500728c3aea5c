package filestore

// Kind is the broad family of a stored file. The evidence layer uses it to
// choose a block type (image, video, document…) without knowing MIME types.
type Kind string

// The kinds of file Put accepts.
const (
	KindImage    Kind = "image"    // png, jpeg, gif, webp
	KindVideo    Kind = "video"    // mp4, webm, quicktime, ogg video
	KindAudio    Kind = "audio"    // mp3, wav, ogg, m4a/mp4 audio, aac, flac
	KindDocument Kind = "document" // PDF, Microsoft Office, OpenDocument
	KindText     Kind = "text"     // plain text, markdown, csv
)

// allowed maps each accepted MIME type (as mimetype reports it, parameters
// stripped) to its kind. Anything not here is refused: notably HTML, XML,
// SVG, scripts, executables, archives, and macro-enabled Office files.
var allowed = map[string]Kind{
	"image/png":  KindImage,
	"image/apng": KindImage,
	"image/jpeg": KindImage,
	"image/gif":  KindImage,
	"image/webp": KindImage,

	"video/mp4":       KindVideo,
	"video/x-m4v":     KindVideo,
	"video/webm":      KindVideo,
	"video/quicktime": KindVideo,
	"video/ogg":       KindVideo,

	"audio/mpeg":  KindAudio,
	"audio/wav":   KindAudio,
	"audio/ogg":   KindAudio,
	"audio/mp4":   KindAudio,
	"audio/x-m4a": KindAudio,
	"audio/aac":   KindAudio,
	"audio/flac":  KindAudio,

	"application/pdf":               KindDocument,
	"application/msword":            KindDocument,
	"application/vnd.ms-excel":      KindDocument,
	"application/vnd.ms-powerpoint": KindDocument,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   KindDocument,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         KindDocument,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": KindDocument,
	"application/vnd.oasis.opendocument.text":                                   KindDocument,
	"application/vnd.oasis.opendocument.spreadsheet":                            KindDocument,
	"application/vnd.oasis.opendocument.presentation":                           KindDocument,

	"text/plain": KindText,
	"text/csv":   KindText,
}
