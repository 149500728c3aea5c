package openbadges

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
)

// StatusListSize is how many credentials one status list holds: 131,072
// entries, the W3C Bitstring Status List's minimum (16 KB uncompressed),
// which is also the verifiers' minimumNumberOfEntries.
const StatusListSize = 131072

// maxStatusListBytes bounds what DecodeStatusList expands (16 MB), so a
// hostile list cannot exhaust memory.
const maxStatusListBytes = 16 << 20

// StatusList is a revocation bitstring: bit i is the credential with
// statusListIndex i, index 0 the left-most (most significant) bit of the
// first byte.
type StatusList struct{ bits []byte }

// NewStatusList returns a list of StatusListSize entries, none set.
func NewStatusList() *StatusList { return &StatusList{bits: make([]byte, StatusListSize/8)} }

// Set marks index i (revoked). Indexes outside the list are an error.
func (l *StatusList) Set(i int64) error {
	if i < 0 || i >= int64(len(l.bits))*8 {
		return fmt.Errorf("openbadges: status index %d outside the list", i)
	}
	l.bits[i/8] |= 0x80 >> (i % 8)
	return nil
}

// Get reports whether index i is set; an index outside the list is an error.
func (l *StatusList) Get(i int64) (bool, error) {
	if i < 0 || i >= int64(len(l.bits))*8 {
		return false, fmt.Errorf("openbadges: status index %d outside the list", i)
	}
	return l.bits[i/8]&(0x80>>(i%8)) != 0, nil
}

// Encode is the list as an encodedList: multibase base64url without padding
// ("u" prefix) of the GZIP-compressed bitstring.
func (l *StatusList) Encode() string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(l.bits)
	_ = zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// DecodeStatusList expands an encodedList. A list shorter than the minimum
// is refused (the specification's STATUS_LIST_LENGTH_ERROR).
func DecodeStatusList(encoded string) (*StatusList, error) {
	rest, ok := strings.CutPrefix(encoded, "u")
	if !ok {
		return nil, fmt.Errorf("openbadges: encodedList is not multibase base64url")
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("openbadges: encodedList: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openbadges: encodedList: %w", err)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, maxStatusListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("openbadges: encodedList: %w", err)
	}
	if len(bits) > maxStatusListBytes {
		return nil, fmt.Errorf("openbadges: encodedList is larger than %d bytes", maxStatusListBytes)
	}
	if len(bits)*8 < StatusListSize {
		return nil, fmt.Errorf("openbadges: status list has %d entries, fewer than the minimum %d", len(bits)*8, StatusListSize)
	}
	return &StatusList{bits: bits}, nil
}

// StatusListCredential is the BitstringStatusListCredential Optio serves.
type StatusListCredential struct {
	Context           []string          `json:"@context"`
	ID                string            `json:"id"`
	Type              []string          `json:"type"`
	Issuer            string            `json:"issuer"`
	ValidFrom         string            `json:"validFrom"`
	CredentialSubject StatusListSubject `json:"credentialSubject"`
}

// StatusListSubject is the list itself.
type StatusListSubject struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	StatusPurpose string `json:"statusPurpose"`
	EncodedList   string `json:"encodedList"`
}

// StatusListCredential wraps a revocation list as Optio's
// BitstringStatusListCredential, valid from now.
func (i *Issuer) StatusListCredential(l *StatusList, now time.Time) StatusListCredential {
	id := i.baseURL + StatusListPath
	return StatusListCredential{
		Context: []string{"https://www.w3.org/ns/credentials/v2"}, ID: id,
		Type:      []string{"VerifiableCredential", "BitstringStatusListCredential"},
		Issuer:    i.Profile().ID,
		ValidFrom: now.UTC().Truncate(time.Second).Format(time.RFC3339),
		CredentialSubject: StatusListSubject{ID: id + "#list", Type: "BitstringStatusList",
			StatusPurpose: "revocation", EncodedList: l.Encode()},
	}
}

// SignStatusList signs the status list credential as a VC-JWT, like every
// credential Optio issues.
func (i *Issuer) SignStatusList(c StatusListCredential) (string, error) {
	claims, err := claimsOf(c.ID, c.Issuer, c.CredentialSubject.ID, c.ValidFrom, "")
	if err != nil {
		return "", err
	}
	return i.signJSON(c, claims)
}
