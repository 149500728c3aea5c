package filestore

// Kind is the broad family of a stored file. The evidence layer uses it to
// choose a block type (image, video, document…) without knowing MIME types.
type Kind string

// The kinds of file Put accepts.
const (
	KindImage    Kind = "image"    // png, jpeg, gif, webp, avif, heic/heif, tiff, bmp
	KindVideo    Kind = "video"    // mp4, webm, quicktime, ogg video
	KindAudio    Kind = "audio"    // mp3, wav, ogg, m4a/mp4 audio, aac, flac
	KindDocument Kind = "document" // PDF, Microsoft Office, OpenDocument, Apple iWork
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
	"image/avif": KindImage,
	"image/heic": KindImage,
	"image/heif": KindImage,
	"image/tiff": KindImage,
	"image/bmp":  KindImage,

	"image/heic-sequence": KindImage,
	"image/heif-sequence": KindImage,

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
	mimeKeynote: KindDocument,
	mimePages:   KindDocument,
	mimeNumbers: KindDocument,

	"text/plain": KindText,
	"text/csv":   KindText,
}

// extensions are the file-name extensions that agree with each accepted
// type, the first one canonical. A name that says otherwise ("notes.html"
// holding plain text, "cat.exe" holding a PNG) gets the canonical one
// appended, so a saved download opens as what it really is.
var extensions = map[string][]string{
	"image/png":  {".png"},
	"image/apng": {".png", ".apng"},
	"image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
	"image/gif":  {".gif"},
	"image/webp": {".webp"},
	"image/avif": {".avif"},
	"image/heic": {".heic", ".heif"},
	"image/heif": {".heif", ".heic"},
	"image/tiff": {".tif", ".tiff"},
	"image/bmp":  {".bmp"},

	"image/heic-sequence": {".heic", ".heics"},
	"image/heif-sequence": {".heif", ".heifs"},

	"video/mp4":       {".mp4", ".m4v"},
	"video/x-m4v":     {".m4v", ".mp4"},
	"video/webm":      {".webm"},
	"video/quicktime": {".mov", ".qt"},
	"video/ogg":       {".ogv", ".ogg"},

	"audio/mpeg":  {".mp3"},
	"audio/wav":   {".wav"},
	"audio/ogg":   {".ogg", ".oga", ".opus"},
	"audio/mp4":   {".m4a", ".mp4"},
	"audio/x-m4a": {".m4a"},
	"audio/aac":   {".aac"},
	"audio/flac":  {".flac"},

	"application/pdf":               {".pdf"},
	"application/msword":            {".doc", ".dot"},
	"application/vnd.ms-excel":      {".xls"},
	"application/vnd.ms-powerpoint": {".ppt", ".pps"},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {".docx"},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {".xlsx"},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {".pptx"},
	"application/vnd.oasis.opendocument.text":                                   {".odt"},
	"application/vnd.oasis.opendocument.spreadsheet":                            {".ods"},
	"application/vnd.oasis.opendocument.presentation":                           {".odp"},
	mimeKeynote: {".key"},
	mimePages:   {".pages"},
	mimeNumbers: {".numbers"},

	"text/plain": {".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".log"},
	"text/csv":   {".csv", ".txt"},
}
