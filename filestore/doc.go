// Package filestore keeps evidence files in blob storage (gocloud.dev/blob:
// file://, mem:// and s3:// URLs), content-addressed by SHA-256 so the same
// bytes are stored once however often they are submitted.
//
// Files are streamed through a temporary file, never held in memory, and
// their type is sniffed from their bytes: the client's name and type are
// never trusted. Only types a browser cannot run as a page are stored; see
// Kind and Put for the list.
//
// Serving rules the HTTP layer must follow: send the stored ContentType with
// "X-Content-Type-Options: nosniff", and send documents (Kind "document")
// with "Content-Disposition: attachment". SVG is refused outright because it
// can carry script.
package filestore
