package sandbox_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/sandbox"
)

// TestSampleFilesAcceptedByFilestore proves every generated sample is a
// file Optio's filestore stores, with the kind the evidence layer expects
// (but the .exe, which it must refuse).
func TestSampleFilesAcceptedByFilestore(t *testing.T) {
	t.Parallel()
	fs, err := filestore.Open(context.Background(), "mem://")
	require.NoError(t, err)
	fs.TempDir = t.TempDir()
	t.Cleanup(func() { _ = fs.Close() })

	want := map[string]struct {
		mime string
		kind filestore.Kind
	}{
		"essay-pdf":     {"application/pdf", filestore.KindDocument},
		"chart-png":     {"image/png", filestore.KindImage},
		"drawing-png":   {"image/png", filestore.KindImage},
		"timelapse-mp4": {"video/mp4", filestore.KindVideo},
		"slides-pptx":   {"application/vnd.openxmlformats-officedocument.presentationml.presentation", filestore.KindDocument},
		"notes-txt":     {"text/plain", filestore.KindText},
		"photo-heic":    {"image/heic", filestore.KindImage},
		"mod-exe":       {"application/vnd.microsoft.portable-executable", ""}, // refused
	}
	files := sandbox.SampleFiles()
	require.Len(t, files, len(want))
	for _, f := range files {
		t.Run(f.Key, func(t *testing.T) {
			t.Parallel()
			w, ok := want[f.Key]
			require.True(t, ok, "unexpected sample %s", f.Key)
			require.True(t, mimetype.Detect(f.Data).Is(w.mime), "mimetype sees %s", mimetype.Detect(f.Data))
			obj, err := fs.Put(context.Background(), bytes.NewReader(f.Data), f.Name, 10<<20)
			if w.kind == "" {
				require.Equal(t, optio.EUNSUPPORTED, optio.ErrorCode(err), "executables are refused")
				return
			}
			require.NoError(t, err)
			require.Equal(t, w.kind, obj.Kind)
			require.Contains(t, obj.ContentType, w.mime)
		})
	}
}

func TestSamplePDFIsMultiPage(t *testing.T) {
	t.Parallel()
	f, ok := sandbox.Sample("essay-pdf")
	require.True(t, ok)
	require.Equal(t, 3, bytes.Count(f.Data, []byte("/Type /Page ")))
	require.True(t, bytes.HasSuffix(f.Data, []byte("%%EOF\n")))
	require.Contains(t, string(f.Data), "(Photosynthesis: How Plants Power the Planet)")
}

// TestSamplePDFCrossReference checks that every xref entry points at its object.
func TestSamplePDFCrossReference(t *testing.T) {
	t.Parallel()
	f, _ := sandbox.Sample("essay-pdf")
	data := string(f.Data)
	var xref int
	_, err := fmt.Sscanf(data[strings.LastIndex(data, "startxref\n"):], "startxref\n%d", &xref)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(data[xref:], "xref\n0 "))
	lines := strings.Split(data[xref:], "\n")
	var n int
	_, err = fmt.Sscanf(lines[1], "0 %d", &n)
	require.NoError(t, err)
	for i := 1; i < n; i++ {
		var off int
		_, err := fmt.Sscanf(lines[2+i], "%010d 00000 n", &off)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(data[off:], fmt.Sprintf("%d 0 obj\n", i)), "object %d", i)
	}
}

// TestSampleMP4Structure walks the MP4's boxes: they tile the file, and the
// chunk offset in stco points at the first sample, an IDR NAL unit.
func TestSampleMP4Structure(t *testing.T) {
	t.Parallel()
	f, _ := sandbox.Sample("timelapse-mp4")
	data := f.Data
	var types []string
	for off := 0; off < len(data); {
		size := int(binary.BigEndian.Uint32(data[off:]))
		require.GreaterOrEqual(t, size, 8)
		types = append(types, string(data[off+4:off+8]))
		off += size
		require.LessOrEqual(t, off, len(data))
	}
	require.Equal(t, []string{"ftyp", "moov", "mdat"}, types)
	i := bytes.Index(data, []byte("stco"))
	require.Positive(t, i)
	chunk := int(binary.BigEndian.Uint32(data[i+12:]))
	nalLen := int(binary.BigEndian.Uint32(data[chunk:]))
	require.Equal(t, byte(0x65), data[chunk+4], "an IDR slice, nal_ref_idc 3")
	j := bytes.Index(data, []byte("stsz"))
	require.Equal(t, nalLen+4, int(binary.BigEndian.Uint32(data[j+16:])), "stsz matches the first sample")
	require.Contains(t, string(data[:4096]), "avcC")
}
