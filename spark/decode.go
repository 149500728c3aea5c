package spark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optio-edu/optio"
)

// MaxJSONDepth is the deepest nesting a webhook or API body may have; real
// payloads need four levels, so anything deeper is an attack or a bug.
const MaxJSONDepth = 32

func malformed(format string, args ...any) error {
	return optio.Errorf(optio.EMALFORMED, format, args...)
}

// decodeJSON decodes body, which must be exactly one JSON object, into dst.
// Unknown fields are ignored so Spark can add fields without breaking Optio;
// a key named twice, or differing only in case from a field, is refused
// (checkKeys).
// Failures are *optio.Error with code optio.EMALFORMED naming the offset or
// field.
func decodeJSON(body []byte, dst any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return malformed("The body is empty; expected a JSON object.")
	}
	if trimmed[0] != '{' {
		return malformed("The body must be a JSON object.")
	}
	if err := checkDepth(body); err != nil {
		return err
	}
	if err := checkKeys(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return translateJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("Unexpected data after the JSON object at byte %d.", dec.InputOffset())
	}
	return nil
}

// checkDepth refuses JSON nested deeper than MaxJSONDepth without decoding it.
func checkDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxJSONDepth {
				return malformed("JSON is nested deeper than %d levels at byte %d.", MaxJSONDepth, i)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// checkKeys walks the JSON in b beside the Go type it will be decoded into
// (t) and refuses two kinds of key that make one signed body mean
// different things to different readers:
//
//   - a key named twice in one object. Decoders disagree on which copy wins
//     (Go takes the last, others the first), so a body with
//     "spark_user_id" twice could mean different students to Spark and to
//     Optio: EMALFORMED.
//   - a key that differs only in letter case from a field of t
//     ("Spark_User_Id", or "ſpark_user_id" with a long s). encoding/json
//     matches field names case-insensitively, so such a key would fill the
//     field while Spark, and every case-sensitive reader, sees an unknown
//     key: EPAYLOAD naming the key.
//
// Keys that match no field in any case stay accepted, so Spark can add
// fields without breaking Optio. Syntax errors are left to the decoder.
func checkKeys(b []byte, t reflect.Type) error {
	w := keyWalker{dec: json.NewDecoder(bytes.NewReader(b))}
	w.dec.UseNumber()
	if err := w.value(t, ""); err != nil && !errors.Is(err, errKeySyntax) {
		return err
	}
	return nil
}

// errKeySyntax stops the walk at a syntax error, which the decoder reports.
var errKeySyntax = errors.New("syntax")

type keyWalker struct{ dec *json.Decoder }

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// fieldsOf is the JSON field names of t, when t is a struct decoded field
// by field, with each field's type; nil for anything else.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range fieldsOf(ft) {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// deref strips pointers; a type that decodes itself (time.Time,
// json.RawMessage) or an interface has no fields to check: nil.
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil
	}
	return t
}

func (w *keyWalker) value(t reflect.Type, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return errKeySyntax
	}
	t = deref(t)
	switch tok {
	case json.Delim('{'):
		return w.object(t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := w.dec.Token(); err != nil {
			return errKeySyntax
		}
	}
	return nil
}

func (w *keyWalker) object(t reflect.Type, path string) error {
	fields := fieldsOf(t)
	var mapElem reflect.Type
	if t != nil && t.Kind() == reflect.Map {
		mapElem = t.Elem()
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return errKeySyntax
		}
		key, ok := tok.(string)
		if !ok {
			return errKeySyntax
		}
		if seen[key] {
			return malformed("The key %q appears twice in one object (before byte %d).", key, w.dec.InputOffset())
		}
		seen[key] = true
		ft, known := fields[key]
		if !known && fields != nil {
			for name := range fields {
				if strings.EqualFold(name, key) {
					at := key
					if path != "" {
						at = path + "." + key
					}
					return &optio.Error{Code: optio.EPAYLOAD,
						Message: fmt.Sprintf("The key %q differs only in letter case from the field %q; field names are case-sensitive.", at, name),
						Fields:  map[string]string{at: fmt.Sprintf("unknown key; the field is %q (field names are case-sensitive)", name)}}
				}
			}
		}
		if mapElem != nil {
			ft = mapElem
		}
		next := key
		if path != "" {
			next = path + "." + key
		}
		if err := w.value(ft, next); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return errKeySyntax
	}
	return nil
}

func translateJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return malformed("Invalid JSON at byte %d: %s.", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return malformed("Field %s must be %s, not a JSON %s (byte %d).", field, jsonKind(typ.Type), typ.Value, typ.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("The JSON ends early.")
	default:
		return malformed("The body is not valid JSON: %v.", err)
	}
}

// jsonKind names the JSON form a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}

// fieldChecker records per-field problems for one payload.
type fieldChecker struct{ f optio.FieldErrors }

func newFieldChecker() *fieldChecker { return &fieldChecker{f: optio.FieldErrors{}} }

func (c *fieldChecker) err(kind string) error {
	return c.f.Err(optio.EPAYLOAD, "The "+kind+" payload is invalid.")
}

// id checks a required Spark identifier.
func (c *fieldChecker) id(field, v string) {
	switch {
	case v == "":
		c.f.Add(field, "required")
	case len(v) > maxIDLen || hasControl(v):
		c.f.Add(field, fmt.Sprintf("must be at most %d printable characters", maxIDLen))
	}
}

// text checks an optional free-text field.
func (c *fieldChecker) text(field, v string, maxRunes int) {
	if !utf8.ValidString(v) {
		c.f.Add(field, "must be valid UTF-8")
	} else if strings.ContainsRune(v, 0) {
		c.f.Add(field, "must not contain NUL characters")
	} else if utf8.RuneCountInString(v) > maxRunes {
		c.f.Add(field, fmt.Sprintf("must be at most %d characters", maxRunes))
	}
}

// requiredText checks a required single-line text field.
func (c *fieldChecker) requiredText(field, v string, maxRunes int) {
	if strings.TrimSpace(v) == "" {
		c.f.Add(field, "required")
		return
	}
	if hasControl(v) {
		c.f.Add(field, "must not contain control characters")
		return
	}
	c.text(field, v, maxRunes)
}

// optionalTime parses an RFC 3339 time, returned in UTC, for a field that
// may be absent: "" is the zero time.
func (c *fieldChecker) optionalTime(field, v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || !saneYear(t) {
		c.f.Add(field, "must be an RFC 3339 time like 2025-03-01T14:00:00Z")
		return time.Time{}
	}
	return t.UTC()
}

// saneYear keeps times within years 1900–9999 in UTC, which also keeps
// them encodable as RFC 3339.
func saneYear(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1900 && y <= 9999
}

// httpURL checks an absolute http(s) URL without credentials.
func (c *fieldChecker) httpURL(field, v string) {
	u, err := url.Parse(v)
	switch {
	case len(v) > 4096:
		c.f.Add(field, "must be at most 4096 bytes")
	case err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "":
		c.f.Add(field, "must be an absolute http or https URL")
	case u.User != nil:
		c.f.Add(field, "must not contain a user name or password")
	}
}
